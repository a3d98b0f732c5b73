"""
### Fincome intraday sync

Keeps Fincome current between monthly closes: every hour (setting `FINCOME_INTRADAY_SCHEDULE`,
a cron expression or preset read from the environment when the DAG file is parsed; default
`@hourly`) it sends what changed in the ERP (connection `erp_db`) since the last confirmed
change: new, edited, paid and cancelled invoices and credit notes of the open month, the
subscriptions, plans, products and customers they reference, and late changes to closed months.
Draft invoices and credit notes are never sent.

**Order**: `prepare` → `extract` (only the ERP rows changed since the last successful run of
either DAG, through the `updated_at` indexes; validated and staged like the monthly load) →
`load.plan_<step>` → `load.products` → `load.plans` → `load.customers` →
`load.subscriptions` → `load.invoices` → `load.credit_notes` →
`load.delete_cancelled_credit_notes` → `load.delete_cancelled_invoices` → `audit`. No
reconciliation: the monthly load closes and reconciles each month.

**Shared with the monthly load**: the queries, validation and reject reasons, the ledger (a
record confirmed here is unchanged for the monthly run, and the reverse), the API budget and
pool, the reject gate (`max_reject_ratio`), the audit (runs of kind `intraday` in the history).
It keeps its own change watermark: the monthly load's watermark moves only with monthly runs.

**Month locks**: a run belongs to the open month (the month of its logical date). To send, it
takes, oldest first, the lock of every month it sends records of: the open month, the month
before it (its close on the 1st sends the same customers and subscriptions) and the months of
the invoices it sends. While a monthly load of one of them sends, its loads fail with a clear
message and retry later; a run that runs out of retries fails, and the next hour's run sends
what it could not (the watermark did not move).

**Pending refusals**: records refused earlier are read again only when their refusal can have
changed (their row, or the parent that blocks them, changed or was confirmed since).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, chain

from fincome_airflow.dag_parts import (
    DEFAULT_ARGS,
    audit_task,
    extract_task,
    load_group,
    prepare_task,
)
from fincome_airflow.kinds import KIND_INTRADAY
from fincome_airflow.params import dag_params

DAG_ID = "fincome_intraday_sync"
#: When the sync runs: a cron expression or preset (env only, read at parse time).
SCHEDULE = os.environ.get("FINCOME_INTRADAY_SCHEDULE", "@hourly")
#: The trigger form offers only what makes sense for a sync of changes.
PARAMS = ("dry_run", "max_reject_ratio")

with DAG(
    dag_id=DAG_ID,
    doc_md=__doc__,
    schedule=SCHEDULE,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    params={name: param for name, param in dag_params().items() if name in PARAMS},
    default_args=DEFAULT_ARGS,
    render_template_as_native_obj=True,
    tags=["fincome", "billing", "erp", "intraday"],
) as dag:
    plan = prepare_task(KIND_INTRADAY)
    load = load_group(plan)
    chain(plan, extract_task(plan), load.group, audit_task(load, reconciles=False))
