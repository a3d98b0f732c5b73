"""A downstream DAG (tests only): waits for a month of Fincome billing data and writes what it
received, the month (its partition key) and the event's extra, as a JSON line to
``FINCOME_CONSUMER_RECORD_PATH``."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, PartitionedAssetTimetable, task

from fincome_airflow.assets import BILLING_MONTH

with DAG(
    dag_id="fincome_month_consumer",
    doc_md=__doc__,
    schedule=PartitionedAssetTimetable(assets=BILLING_MONTH),
    catchup=False,
    tags=["fincome", "test"],
    default_args={"owner": "data-platform", "retries": 1},
) as dag:

    @task(execution_timeout=timedelta(minutes=2))
    def report(**context):
        import json
        import os

        events = context["triggering_asset_events"][BILLING_MONTH]
        record = {
            "run_id": context["dag_run"].run_id,
            "partition_key": context["dag_run"].partition_key,
            "events": [{"partition_key": e.partition_key, "extra": e.extra} for e in events],
        }
        with open(os.environ["FINCOME_CONSUMER_RECORD_PATH"], "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    report()
