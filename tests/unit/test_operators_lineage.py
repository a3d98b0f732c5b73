"""The operators' OpenLineage facets: ERP tables in, the Fincome resource out, with counts; and
the operators without the OpenLineage provider."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.connections import FINCOME_BASE, fincome_conn_json, sqlite_conn_json
from support.staging import stage_records

from fincome_airflow.hooks.fincome import FincomeHook
from fincome_airflow.operators import FincomeDeleteOperator, FincomeLoadOperator
from fincome_airflow.state.store import StateStore

RUN = "manual__2026-10-lineage"
API_KEY = "sk_live_LINEAGE_SECRET_7"


@pytest.fixture
def store(tmp_path, monkeypatch) -> StateStore:
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", fincome_conn_json(API_KEY))
    monkeypatch.setenv(
        "AIRFLOW_CONN_ERP_DB",
        '{"conn_type": "postgres", "host": "erp.internal", "schema": "billing", '
        '"login": "reader", "password": "erp-pass-XYZ"}',
    )
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    store.ensure_schema()
    return store


def stage(store: StateStore, n: int) -> None:
    records = {f"i{k}": {"id": f"i{k}", "customer_id": "c1"} for k in range(n)}
    stage_records(store, "invoices", records.items(), run_key=RUN)


def load_op(**kwargs) -> FincomeLoadOperator:
    op = FincomeLoadOperator(
        task_id="invoices", resource="invoices", run_key=RUN, progress_interval=0, **kwargs
    )
    op.__dict__["hook"] = FincomeHook(sleep=lambda _s: None)
    return op


def as_dicts(datasets) -> list[tuple[str, str, dict]]:
    return [
        (
            d.namespace,
            d.name,
            {**(getattr(d, "inputFacets", None) or {}), **(getattr(d, "outputFacets", None) or {})},
        )
        for d in datasets
    ]


def test_load_reports_erp_tables_in_and_fincome_resource_out_with_counts(store, requests_mock):
    stage(store, 3)
    requests_mock.post(f"{FINCOME_BASE}/invoices", status_code=201)
    op = load_op()
    op.execute({})

    lineage = op.get_openlineage_facets_on_complete(None)

    inputs = as_dicts(lineage.inputs)
    assert [(ns, name) for ns, name, _ in inputs] == [
        ("postgres://erp.internal:5432", "billing.erp.invoices"),
        ("postgres://erp.internal:5432", "billing.erp.invoice_lines"),
    ]
    assert inputs[0][2]["inputStatistics"].rowCount == 3
    assert inputs[1][2] == {}
    [(namespace, name, facets)] = as_dicts(lineage.outputs)
    assert (namespace, name) == (FINCOME_BASE, "invoices")
    assert facets["outputStatistics"].rowCount == 3


def test_lineage_holds_no_credentials_when_connections_have_them(store, requests_mock):
    stage(store, 1)
    requests_mock.post(f"{FINCOME_BASE}/invoices", status_code=201)
    op = load_op()
    op.execute({})

    text = repr(op.get_openlineage_facets_on_complete(None))

    assert "erp-pass-XYZ" not in text and "reader" not in text and API_KEY not in text


def test_dry_run_reports_inputs_and_no_output(store):
    stage(store, 2)
    op = load_op(dry_run=True)
    op.execute({})

    lineage = op.get_openlineage_facets_on_complete(None)

    assert len(lineage.inputs) == 2
    assert lineage.outputs == []


def test_disabled_task_reports_no_lineage(store):
    op = load_op(enabled=False)
    op.execute({})

    lineage = op.get_openlineage_facets_on_complete(None)

    assert (lineage.inputs, lineage.outputs) == ([], [])


def test_delete_reports_deleted_records_as_output_count(store, requests_mock):
    from fincome_airflow.state.ledger import Ledger

    stage(store, 2)
    requests_mock.post(f"{FINCOME_BASE}/invoices", status_code=201)
    load_op().execute({})
    stage_records(store, "invoices", [("i0", None)], run_key="run2", action="delete")
    assert Ledger(store, "run2", "invoices").count_to_delete() == 1
    requests_mock.delete(f"{FINCOME_BASE}/invoices/i0", status_code=204)
    op = FincomeDeleteOperator(
        task_id="delete", resource="invoices", run_key="run2", progress_interval=0
    )
    op.__dict__["hook"] = FincomeHook(sleep=lambda _s: None)
    op.execute({})

    lineage = op.get_openlineage_facets_on_complete(None)

    [(_, name, facets)] = as_dicts(lineage.outputs)
    assert name == "invoices"
    assert facets["outputStatistics"].rowCount == 1


WITHOUT_PROVIDER = """
import sys
from importlib.abc import MetaPathFinder

class NoOpenLineage(MetaPathFinder):
    # the OpenLineage client and the provider's lineage classes cannot be imported
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "openlineage" or name.startswith(
            "airflow.providers.openlineage.extractors"
        ):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, NoOpenLineage())
from fincome_airflow.operators import FincomeLoadOperator
op = FincomeLoadOperator(task_id="t", resource="invoices", run_key="r", enabled=False)
print(op.execute({}))
try:
    op.get_openlineage_facets_on_complete(None)
except ImportError:
    print("lineage needs the provider")
"""


def test_operators_import_and_execute_when_openlineage_is_not_importable():
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PROVIDER], capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "'skipped': True" in done.stdout
    assert "lineage needs the provider" in done.stdout
