"""Bad input ends cleanly: refused with its reason, or carried as plain data; nothing crashes.

* The ERP defect corpus (``fincome_erp demo``: every defect kind, with its manifest) through the
  whole DAG, three months (level: ``airflow dags test``).
* Hostile values in a SQLite ERP, through extract and the load operators with a SQLite and a
  PostgreSQL state database (level: task); NUL bytes in a PostgreSQL ERP.
* Bad trigger input through ``airflow dags test --conf`` (level: ``dags test``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from support.connections import database_json, sqlite_conn_json
from support.reliability import KNOWN_KEY, MONTH, dags_test, fincome_conn, task_states

from fincome_airflow.contract import RESOURCES
from fincome_airflow.engines import erp_engine
from fincome_airflow.operators import FincomeLoadOperator
from fincome_airflow.tasks.extract import extract_month
from fincome_erp.cli import main as erp_main
from fincome_erp.rows import add_invoice, create_erp, load

pytestmark = pytest.mark.timeout(300)

DEMO_MONTHS = ("2026-08", "2026-09", "2026-10")


def rejects(folder: Path) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for path in folder.glob("*_rejects.csv"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                out.setdefault(f"{row['resource']}/{row['id']}", []).append(row)
    return out


def test_defect_corpus_through_the_dag_rejects_each_with_its_reason_and_loads_the_rest(
    tmp_path, sandbox_factory, airflow_rig, record_result
):
    erp = tmp_path / "erp.sqlite"
    assert (
        erp_main(["demo", "--url", f"sqlite:///{erp}", "--manifest", str(tmp_path / "m.json")]) == 0
    )
    manifest = json.loads((tmp_path / "m.json").read_text())
    sandbox = sandbox_factory(api_key=KNOWN_KEY)
    af = airflow_rig(
        {
            "AIRFLOW_CONN_ERP_DB": sqlite_conn_json(erp),
            "AIRFLOW_CONN_FINCOME_STATE": sqlite_conn_json(tmp_path / "state.db"),
            "AIRFLOW_CONN_FINCOME_API": fincome_conn(sandbox.base_url),
        }
    )
    for month in DEMO_MONTHS:
        result = dags_test(af, {"month": month, "max_reject_ratio": 0.5})
        assert result.returncode == 0, result.stderr[-3000:]
    states = {state for state, _ in task_states(af).values()}
    assert states == {"success"}, task_states(af)

    held = sandbox.dump()
    refused = rejects(af.home / "reports")
    inputs, kinds_refused = [], 0
    for kind, entry in manifest["dirty"].items():
        reasons = {entry["reason"], *entry["consequences"]} - {None}
        seen = []
        for record in entry["records"]:
            key = f"{record['resource']}/{record['id']}"
            in_fincome = record["id"] in held.get(record["resource"], {})
            if entry["outcome"] == "rejected":
                assert not in_fincome, f"{kind}: {key} was sent"
                if key in refused:
                    codes = {row["reason_code"] for row in refused[key]}
                    assert codes & reasons, f"{kind}: {key} refused for {codes}, not {reasons}"
                    seen.append("rejected")
            else:
                seen.append("loaded" if in_fincome else "not in scope")
        if entry["outcome"] == "rejected" and "rejected" in seen:
            kinds_refused += 1
        if entry["records"]:
            ended = (
                f"rejected: {entry['reason']}"
                if "rejected" in seen
                else ", ".join(sorted(set(seen)))
            )
            inputs.append({"input": f"ERP defect {kind}", "via": "dags test", "ended": ended})
    blocked = [k for k, rows in refused.items() if rows[0]["outcome"] == "blocked"]
    for key in blocked:
        resource, record_id = key.split("/", 1)
        assert record_id not in held.get(resource, {}), f"blocked {key} was sent"
    # a contract of an unknown plan is an old contract outside every month's load (the defect
    # corpus, tests/integration/test_extract_corpus.py, refuses it)
    rejected_kinds = [
        k
        for k, e in manifest["dirty"].items()
        if e["outcome"] == "rejected" and k != "contract_unknown_plan"
    ]
    assert kinds_refused == len(rejected_kinds), (kinds_refused, len(rejected_kinds))
    record_result(
        "defect_corpus",
        kind="input",
        level="dags test",
        outcome="success",
        inputs=inputs,
        blocked=len(blocked),
    )


HOSTILE_NAMES = {
    "quotes and SQL in a name": 'O\'Brien "Ltd"); DROP TABLE erp.customers; --',
    "unicode (accents, CJK, emoji, RTL mark)": "Zoë Łódź 北京 🚀 \u202eSARL",
    "10 kB name": "X" * 10_240,
    "NUL byte in a name": "Null\x00Byte SA",
}
HOSTILE_LINES = {
    "SQL in a line description": {"description": "'; DELETE FROM fincome_ledger; --"},
    "amount with 10 decimals": {"net_amount": Decimal("80.1234567891")},
    "amount with 20 digits": {"net_amount": Decimal("12345678901234567890")},
    "service period to year 9999": {"service_to": dt.date(9999, 12, 31)},
    "service period from year 0001": {"service_from": dt.date(1, 1, 1)},
}


def hostile_erp(url: str) -> dict[str, str]:
    """One customer per hostile name and one invoice per hostile line; returns input -> id."""
    engine = erp_engine(url)
    create_erp(engine)
    erp: dict[str, list] = {"customers": [], "contracts": []}
    ids = {}
    cases = {**{k: ("name", v) for k, v in HOSTILE_NAMES.items()}, **HOSTILE_LINES}
    for n, (label, case) in enumerate(cases.items()):
        cust, contract = f"C-H{n:02d}", f"K-H{n:02d}"
        name = case[1] if isinstance(case, tuple) else "Hostile Lines SA"
        erp["customers"].append({"cust_no": cust, "company_name": name})
        erp["contracts"].append({"contract_no": contract, "cust_no": cust})
        line = {
            "net_amount": Decimal("80.00"),
            "service_from": dt.date(2026, 10, 1),
            "service_to": dt.date(2026, 10, 31),
        }
        if not isinstance(case, tuple):
            line.update(case)
        add_invoice(erp, f"I-H{n:02d}", cust, contract, dt.date(2026, 10, 5), [line])
        ids[label] = (cust, f"I-H{n:02d}")
    erp["contracts"].append(
        {"contract_no": "K-DATE", "cust_no": "C-H00", "start_date": dt.date(1, 1, 1)}
    )
    erp["invoices"].append(
        {
            "invoice_no": "I-DUE",
            "cust_no": "C-H00",
            "contract_no": "K-H00",
            "invoice_date": dt.date(2026, 10, 6),
            "total_net": Decimal("10.00"),
            "due_date": dt.date(9999, 12, 31),
        }
    )
    erp["invoice_lines"].append(
        {
            "invoice_no": "I-DUE",
            "line_no": 1,
            "net_amount": Decimal("10.00"),
            "line_kind": "ONE_OFF",
        }
    )
    add_invoice(
        erp,
        "I-KDATE",
        "C-H00",
        "K-DATE",
        dt.date(2026, 10, 7),
        [{"net_amount": Decimal("5.00"), "line_kind": "ONE_OFF"}],
    )  # so that the month's scope takes the contract in
    ids["contract starting in year 0001"] = ("C-H00", "K-DATE")
    ids["invoice due in year 9999"] = ("C-H00", "I-DUE")
    load(engine, erp)
    engine.dispose()
    return ids


@pytest.mark.parametrize("state_backend", ["sqlite", "postgresql"])
def test_hostile_values_are_plain_data_refused_with_a_reason_or_loaded_intact(
    tmp_path, sandbox_factory, create_pg_database, monkeypatch, state_backend, record_result
):
    erp_url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    cases = hostile_erp(erp_url)
    sandbox = sandbox_factory(api_key=KNOWN_KEY)
    state = (
        sqlite_conn_json(tmp_path / "state.db")
        if state_backend == "sqlite"
        else database_json(create_pg_database("fincome_rel_hostile"))
    )
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB", sqlite_conn_json(tmp_path / "erp.sqlite"))
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", state)
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_API", fincome_conn(sandbox.base_url))
    monkeypatch.setenv("FINCOME_REPORTS_DIR", str(tmp_path / "reports"))
    run_key = f"hostile/{state_backend}"
    plan = {"run_key": run_key, "month": MONTH, "send": True, "max_reject_ratio": 1.0}
    extract_month(plan, erp_conn_id="erp_db", state_conn_id="fincome_state")
    for resource in RESOURCES:
        FincomeLoadOperator(
            task_id=resource, resource=resource, run_key=run_key, month=MONTH
        ).execute({})

    from fincome_airflow.state.store import StateStore

    store = StateStore.from_connection("fincome_state")
    with store.begin() as conn:
        refused = {
            f"{r.resource}/{r.record_id}": r.reason_code
            for r in conn.execute(
                text(
                    "SELECT resource, record_id, reason_code FROM fincome_rejects "
                    "WHERE run_key = :k"
                ),
                {"k": run_key},
            )
        }
        assert conn.execute(text("SELECT count(*) FROM fincome_ledger")).scalar() > 0
    store.engine.dispose()
    engine = erp_engine(erp_url)
    with engine.connect() as conn:  # the SQL in the names ran nowhere
        assert conn.execute(text("SELECT count(*) FROM erp.customers")).scalar() == len(
            {c for c, _ in cases.values()}
        )
    engine.dispose()
    held = sandbox.dump()
    inputs = []
    for label, (customer, record) in cases.items():
        resource = "subscriptions" if record.startswith("K-") else "invoices"
        if label in HOSTILE_NAMES:
            resource, record = "customers", customer
        key = f"{resource}/{record}"
        if key in refused:
            ended = f"rejected: {refused[key]}"
        elif record in held[resource]:
            ended = "loaded"
            if label in HOSTILE_NAMES:
                assert held[resource][record]["name"] == HOSTILE_NAMES[label], label
                ended = "loaded intact"
        else:
            blocked_by = [k for k in refused if k.endswith(customer)]
            ended = f"blocked ({refused[blocked_by[0]]} upstream)" if blocked_by else "missing"
        assert ended != "missing", f"{label}: neither loaded nor refused"
        inputs.append({"input": label, "via": f"task, {state_backend} state", "ended": ended})
    record_result(f"hostile_values_{state_backend}", kind="input", level="task", inputs=inputs)


def test_postgresql_erp_cannot_hold_a_nul_byte_in_text(create_pg_database, record_result):
    url = create_pg_database("fincome_rel_nul")
    engine = erp_engine(url)
    create_erp(engine)
    with pytest.raises((DBAPIError, ValueError)) as refused:
        load(engine, {"customers": [{"cust_no": "C-NUL", "company_name": "Null\x00Byte SA"}]})
    engine.dispose()
    assert "NUL" in str(refused.value)
    record_result(
        "hostile_values_postgresql_erp",
        kind="input",
        level="database",
        inputs=[
            {
                "input": "NUL byte in a PostgreSQL ERP name",
                "via": "ERP insert",
                "ended": "refused by PostgreSQL itself (text cannot hold NUL)",
            }
        ],
    )


BAD_TRIGGERS = {
    "month 2026-13": {"month": "2026-13"},
    "month 'October'": {"month": "October"},
    "unknown resource 'payments'": {"resources": ["payments"]},
    "max_reject_ratio 1.5": {"max_reject_ratio": 1.5},
    "max_reject_ratio -0.1": {"max_reject_ratio": -0.1},
    "dry_run 'yes' (not a boolean)": {"dry_run": "yes"},
}

SCHEMA_CASES = ("month 2026-13", "unknown resource 'payments'", "max_reject_ratio 1.5")


def test_bad_trigger_input_is_refused_by_the_param_schema_before_any_send(
    tmp_path, sandbox_factory, airflow_rig, record_result
):
    sandbox = sandbox_factory(api_key=KNOWN_KEY)
    af = airflow_rig(
        {
            "AIRFLOW_CONN_ERP_DB": sqlite_conn_json(tmp_path / "erp.sqlite"),
            "AIRFLOW_CONN_FINCOME_STATE": sqlite_conn_json(tmp_path / "state.db"),
            "AIRFLOW_CONN_FINCOME_API": fincome_conn(sandbox.base_url),
        }
    )
    inputs = []
    for label in SCHEMA_CASES:  # the code-level test below takes every case
        conf = BAD_TRIGGERS[label]
        result = dags_test(af, conf, timeout=120)
        output = result.stdout + result.stderr
        assert result.returncode != 0, f"{label} accepted"
        assert "Traceback" not in output or "ParamValidationError" in output, output[-2000:]
        param = next(iter(conf))
        assert param in output, f"{label}: the message does not name {param}"
        inputs.append(
            {
                "input": f"trigger {label}",
                "via": "dags test --conf",
                "ended": "refused by the Param schema",
            }
        )
    assert sandbox.stats()["total_requests"] == 0
    record_result("bad_trigger_schema", kind="input", level="dags test", inputs=inputs)


@pytest.mark.parametrize("label", list(BAD_TRIGGERS))
def test_bad_trigger_input_is_refused_by_the_code_too(label, record_result):
    from airflow.sdk.exceptions import AirflowFailException

    from fincome_airflow.tasks.prepare import prepare_run

    class Dag:
        dag_id = "fincome_monthly_load"

    context = {"params": {"month": MONTH, **BAD_TRIGGERS[label]}, "dag": Dag(), "run_id": "r"}
    with pytest.raises(AirflowFailException, match="Invalid trigger input") as refused:
        prepare_run(context)
    param = next(iter(BAD_TRIGGERS[label]))
    assert param in str(refused.value) or "month" in str(refused.value), str(refused.value)
    slug = "".join(ch if ch.isalnum() else "_" for ch in label)
    record_result(
        f"bad_trigger_code_{slug}",
        kind="input",
        level="task",
        inputs=[
            {
                "input": f"trigger {label}",
                "via": "prepare task code",
                "ended": f"refused: {str(refused.value)[:70]}",
            }
        ],
    )
