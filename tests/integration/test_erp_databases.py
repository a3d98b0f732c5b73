"""The reference ERP on real databases (PostgreSQL, MariaDB, SQLite): DDL, COPY and batched
writers, CLI, hostile text."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import text

from fincome_airflow.engines import erp_engine
from fincome_erp.cli import main
from fincome_erp.config import GeneratorConfig
from fincome_erp.ddl import install_schema, row_counts, table_name
from fincome_erp.generator import generate
from fincome_erp.months import Month
from fincome_erp.populate import ErpNotEmptyError, populate
from fincome_erp.presets import DEMO
from fincome_erp.tables import COLUMNS, TABLES

pytestmark = pytest.mark.integration

MEDIUM = GeneratorConfig.build(Month(2026, 9), Month(2026, 10), invoices=20_000, seed=5)
SMALL = GeneratorConfig.build(Month(2026, 9), Month(2026, 10), invoices=2_000, seed=5)


def as_text(value):
    """A value read back, in the generator's text form (numbers compared as decimals)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    if isinstance(value, Decimal):
        return value
    return value


def normalized(row):
    return tuple(Decimal(v) if isinstance(v, str) and _is_number(v) else as_text(v) for v in row)


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except ArithmeticError:
        return False
    return value[:1].isdigit() or value[:1] == "-"


def read_all(engine):
    with engine.connect() as conn:
        return {
            table: sorted(
                (normalized(r) for r in conn.execute(text(_select(engine, table)))),
                key=lambda r: (str(r[0]), str(r[1])),
            )
            for table in TABLES
        }


def _select(engine, table: str) -> str:
    return f"SELECT {', '.join(COLUMNS[table])} FROM {table_name(engine, table)}"


def generated(config):
    rows = defaultdict(list)
    generate(config, lambda table, row: rows[table].append(normalized(row)))
    return {t: sorted(rows[t], key=lambda r: (str(r[0]), str(r[1]))) for t in TABLES}


def _populated(create_database, config):
    engine = erp_engine(create_database("fincome_erp_test"))
    manifest = populate(engine, config)
    yield engine, manifest
    engine.dispose()


@pytest.fixture(scope="module")
def pg_medium(create_pg_database):
    yield from _populated(create_pg_database, MEDIUM)


@pytest.mark.parametrize(
    ("factory", "where"),
    [
        pytest.param("create_pg_database", "schema erp", id="postgresql-in-schema-erp"),
        pytest.param("create_mysql_database", "own database", id="mariadb-in-its-own-database"),
    ],
)
def test_schema_applies_on_a_server(factory, where, request):
    engine = erp_engine(request.getfixturevalue(factory)("fincome_erp_ddl"))
    install_schema(engine)
    install_schema(engine)  # idempotent
    schema = "erp" if where == "schema erp" else engine.url.database
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).scalars()
        assert set(tables) == set(TABLES)
    assert row_counts(engine) == dict.fromkeys(TABLES, 0)
    engine.dispose()


def test_schema_applies_on_sqlite_as_attached_erp(tmp_path):
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    install_schema(engine)
    install_schema(engine)
    assert row_counts(engine) == dict.fromkeys(TABLES, 0)
    engine.dispose()


@pytest.fixture(scope="module")
def mariadb_small(create_mysql_database):
    yield from _populated(create_mysql_database, SMALL)


def test_batched_writer_stores_every_value_exactly_into_mariadb(mariadb_small):
    engine, manifest = mariadb_small
    assert row_counts(engine) == dict(manifest.rows)
    assert read_all(engine) == generated(SMALL)
    assert manifest.edge_cases["customer_hostile_name"]


def test_populate_refuses_a_non_empty_mariadb_erp_unless_replacing(mariadb_small):
    engine, manifest = mariadb_small
    with pytest.raises(ErpNotEmptyError):
        populate(engine, SMALL)
    populate(engine, SMALL, replace=True)
    assert row_counts(engine) == dict(manifest.rows)


def test_copy_writer_round_trips_counts_of_a_medium_run(pg_medium):
    engine, manifest = pg_medium
    assert row_counts(engine) == dict(manifest.rows)
    assert manifest.rows["invoices"] == 20_000


def test_copy_writer_stores_every_value_exactly_even_hostile_text(pg_medium):
    engine, manifest = pg_medium
    assert read_all(engine) == generated(MEDIUM)
    assert manifest.edge_cases["customer_hostile_name"]


def test_clean_postgresql_rows_keep_the_invariants_in_sql(pg_medium):
    engine, manifest = pg_medium
    dirty = sorted(manifest.dirty_ids("invoices") | manifest.dirty_ids("customers"))
    dirty += sorted(manifest.dirty_ids("subscriptions"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE dirty_ids (id varchar(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO dirty_ids VALUES (:id)"), [{"id": i} for i in dirty])
        checks = {
            "lines add up": """
                SELECT count(*) FROM erp.invoices i
                WHERE i.invoice_no NOT IN (SELECT id FROM dirty_ids)
                  AND i.total_net <> (SELECT sum(net_amount) FROM erp.invoice_lines l
                                      WHERE l.invoice_no = i.invoice_no)""",
            "due not before issue": """
                SELECT count(*) FROM erp.invoices
                WHERE invoice_no NOT IN (SELECT id FROM dirty_ids) AND due_date < invoice_date""",
            "contract of the same customer": """
                SELECT count(*) FROM erp.invoices i
                LEFT JOIN erp.contracts c ON c.contract_no = i.contract_no
                WHERE i.invoice_no NOT IN (SELECT id FROM dirty_ids)
                  AND (c.cust_no IS DISTINCT FROM i.cust_no OR c.currency <> i.currency)""",
            "periods in order": """
                SELECT count(*) FROM erp.invoice_lines
                WHERE invoice_no NOT IN (SELECT id FROM dirty_ids)
                  AND ((line_kind = 'RECURRING' AND NOT service_from <= service_to)
                    OR (line_kind = 'RECURRING' AND service_from IS NULL)
                    OR (line_kind = 'ONE_OFF' AND service_from IS NOT NULL))""",
            "countries upper case": """
                SELECT count(*) FROM erp.customers
                WHERE cust_no NOT IN (SELECT id FROM dirty_ids)
                  AND country_code IS DISTINCT FROM upper(country_code)""",
            "parents exist": """
                SELECT count(*) FROM erp.customers c
                WHERE c.cust_no NOT IN (SELECT id FROM dirty_ids) AND c.parent_cust_no IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM erp.customers p
                                  WHERE p.cust_no = c.parent_cust_no)""",
            "terminated iff terminated_on": """
                SELECT count(*) FROM erp.contracts
                WHERE contract_no NOT IN (SELECT id FROM dirty_ids)
                  AND (status = 'TERMINATED') <> (terminated_on IS NOT NULL)""",
            "paid later than issued": """
                SELECT count(*) FROM erp.invoices
                WHERE doc_status = 'PAID' AND updated_at::date < invoice_date""",
        }
        failures = {name: conn.execute(text(sql)).scalar_one() for name, sql in checks.items()}
    assert failures == dict.fromkeys(checks, 0)


def test_populate_refuses_a_non_empty_erp_unless_replacing(pg_medium):
    engine, _manifest = pg_medium
    with pytest.raises(ErpNotEmptyError):
        populate(engine, MEDIUM)


def test_cli_demo_writes_the_fixed_demo_set_into_sqlite(tmp_path, capsys):
    path = tmp_path / "erp.sqlite"
    manifest = tmp_path / "manifest.json"
    url = f"sqlite:///{path}"
    assert main(["demo", "--url", url, "--manifest", str(manifest), "--timed"]) == 0
    assert main(["demo", "--url", url]) == 0  # the demo replaces
    engine = erp_engine(url)
    assert read_all(engine) == generated(DEMO)
    engine.dispose()
    out = capsys.readouterr().out
    assert "invoices 300" in out and " s (" in out
    assert manifest.exists()


def test_cli_generate_takes_months_a_total_and_a_seed(create_pg_database, tmp_path, capsys):
    url = create_pg_database("fincome_erp_cli")
    args = ["generate", "--url", url, "--from", "2026-09", "--to", "2026-10", "--invoices", "501"]
    assert main([*args, "--seed", "9"]) == 0
    assert main([*args, "--seed", "9"]) == 2  # not empty: --replace needed
    assert main([*args, "--seed", "9", "--replace", "--dirty-share", "0"]) == 0
    engine = erp_engine(url)
    assert row_counts(engine)["invoices"] == 501
    engine.dispose()
    assert "dirty records" in capsys.readouterr().out
