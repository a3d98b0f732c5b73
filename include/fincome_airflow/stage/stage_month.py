"""The entry point the DAG's extract task calls: extract, validate and stage one month."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from sqlalchemy.engine import Engine

from fincome_airflow.contract import RESOURCES
from fincome_airflow.extract.ahead import month_queries
from fincome_airflow.extract.queries import DEFAULT_CHUNK
from fincome_airflow.extract.rereads import intraday_rereads
from fincome_airflow.extract.scope import MAX_PENDING_PER_RESOURCE, LoadScope
from fincome_airflow.extract.watermark import WatermarkSettings, read_horizon
from fincome_airflow.kinds import KIND_INTRADAY, KIND_MONTHLY, RUN_KINDS
from fincome_airflow.month import BillingMonth
from fincome_airflow.stage.collector import fewer_collections
from fincome_airflow.stage.report import ReportBuilder, StageReport
from fincome_airflow.stage.staging import (
    StagingWriter,
    confirmed_ids,
    naive_timestamp,
    pending_ids,
)
from fincome_airflow.state.store import StateStore
from fincome_airflow.validation.decisions import Decision
from fincome_airflow.validation.pipeline import LoadValidator

log = logging.getLogger(__name__)


def extract_and_stage(
    erp_engine: Engine,
    store: StateStore,
    run_key: str,
    month: str | BillingMonth,
    *,
    now: dt.datetime,
    dry_run: bool = False,
    chunk: int = DEFAULT_CHUNK,
    watermark: WatermarkSettings | None = None,
    kind: str = KIND_MONTHLY,
) -> StageReport:
    """Extract the billing ``month`` from the ERP, validate it and stage it under ``run_key``.

    Restarting the run (a retried task) restages it from scratch. A dry run stages too (for its
    report and rejects CSV) but leaves the pending list alone.

    :param now: the current time; invoices dated after ``now``'s date are refused.
    :param watermark: the overlap and horizon settings (default: from the environment).
    :param kind: ``monthly`` (the month's records and the changes since the last monthly
        load) or ``intraday`` (only the changes since the last load of either kind, of any
        month; ``month`` is the open month, which the run locks).
    :return: small counts for the XCom; the records stay in the state database.
    """
    billing = month if isinstance(month, BillingMonth) else BillingMonth.parse(month)
    store.start_run(run_key, str(billing), dry_run=dry_run, kind=kind)
    settings = watermark or WatermarkSettings.from_env()
    intraday = kind == KIND_INTRADAY
    last = store.last_watermark(RUN_KINDS if intraday else (KIND_MONTHLY,))
    scope = LoadScope.for_month(
        billing.start, billing.end, last, None, settings.overlap, changes_only=intraday
    )
    validator = LoadValidator(
        today=now.date(), ledger_lookup=lambda r, ids: confirmed_ids(store, r, ids)
    )
    builder = ReportBuilder(
        StageReport(
            run_key,
            str(billing),
            dry_run,
            scope.watermark.isoformat(),
            changed_since=scope.changed_since.isoformat(),
        )
    )
    # each resource's validation is the validator's method named after it
    validate = {resource: getattr(validator, resource) for resource in RESOURCES}
    with fewer_collections(), erp_engine.connect() as conn:
        # Read before the snapshot is taken (see extract/watermark.py), in its own transaction.
        horizon = read_horizon(conn, settings)
        if conn.dialect.name == "postgresql":  # one snapshot for every query
            conn.execution_options(isolation_level="REPEATABLE READ")
        # A sync after an earlier load reads again only the refusals that can have changed;
        # a monthly run (and a first sync) every pending record (see extract/rereads.py).
        rereads = intraday and last is not None
        pending = (
            intraday_rereads(conn, store, scope.changed_since, MAX_PENDING_PER_RESOURCE, now.date())
            if rereads
            else pending_ids(store, MAX_PENDING_PER_RESOURCE)
        )
        scope = replace(scope, pending=pending)
        log.info(
            "Run %s (%s): month %s, watermark %s, reading changes since %s, pending %s",
            run_key,
            kind,
            billing,
            scope.watermark,
            scope.changed_since,
            {r: len(ids) for r, ids in pending.items()},
        )
        # Every query's parameters are known here (the scope, the pending lists): none depends
        # on an earlier resource's rows, so each can start before its turn (extract/ahead.py).
        # Each resource's query is named after it: extract/sql/<resource>.sql.
        queries = [(resource, scope.params_for(resource)) for resource in RESOURCES]
        with (
            StagingWriter(
                store, run_key, pending=pending, track_pending=not dry_run, drop_skipped=rereads
            ) as writer,
            month_queries(conn, queries, chunk=chunk) as month_rows,
        ):
            writer.ceiling = horizon.at
            # The candidate starts at the watermark used: it only moves forward, up to the horizon.
            writer.max_updated_at = scope.watermark
            for resource in RESOURCES:
                wanted = pending.get(resource, frozenset())
                seen: set[str] = set()
                rows = month_rows.rows(resource)
                for decision in validate[resource](rows):
                    writer.add(decision)
                    builder.add(decision)
                    # a refusal of a row unchanged since the last run was reported by it
                    # (read again as pending, or as a reference of a change)
                    builder.report.known_refused += known_refusal(decision, scope.watermark)
                    if decision.record_id in wanted:
                        seen.add(decision.record_id)
                writer.drop_pending(resource, sorted(wanted - seen))
                builder.report.pending_reextracted += len(seen)
                log.info("Run %s: %s %s", run_key, resource, builder.report.counts.get(resource))
    report = builder.finish()
    candidate = writer.watermark_candidate
    report.max_updated_at = candidate.isoformat() if candidate else None
    report.watermark_guard = horizon.guard
    report.horizon = horizon.at.isoformat() if horizon.at else horizon.why
    log.info("Run %s staged: %s", run_key, report.to_dict())
    return report


def known_refusal(decision: Decision, watermark: dt.datetime) -> bool:
    """Whether a record refused again is unchanged since ``watermark`` (its refusal was
    reported by the run that read it last: a pending record, or one read as the reference of
    a change)."""
    if decision.kind != "reject":
        return False
    changed = naive_timestamp(decision.updated_at)
    return changed is not None and changed <= watermark
