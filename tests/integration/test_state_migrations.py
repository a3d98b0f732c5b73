"""Migrations of the state database on PostgreSQL and SQLite: empty to head, the first release
recognised, the head equal to ``schema.py``, concurrent first uses, a database ahead refused."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, column, event, inspect, select, table, update
from sqlalchemy.engine import Engine
from support.connections import sqlite_conn_json
from support.first_release import FirstReleaseStore, create_first_release_schema

from fincome_airflow.engines import make_engine
from fincome_airflow.state import migrate, revisions, schema
from fincome_airflow.state.__main__ import main as state_command
from fincome_airflow.state.revisions import VERSION_TABLE, StateSchemaError, Verdict
from fincome_airflow.state.store import StateStore, utcnow
from fincome_airflow.state.upsert import upsert


@pytest.fixture
def engine(state_db_url):
    engine = make_engine(state_db_url)
    yield engine
    engine.dispose()


def diffs_against(engine: Engine, metadata: MetaData) -> list:
    """What Alembic's autogenerate would change to make the database match ``metadata``."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, to prove that nothing was written."""
    reflected = MetaData()
    with engine.connect() as conn:
        reflected.reflect(conn)
        return {
            name: sorted(tuple(map(str, row)) for row in conn.execute(select(t)))
            for name, t in reflected.tables.items()
        }


VERSIONS = table(VERSION_TABLE, column("version_num"))


def version_rows(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(VERSIONS.c.version_num)).scalars())


def test_empty_database_is_migrated_to_head_on_first_use(engine):
    store = StateStore(engine)

    store.ensure_schema()
    store.start_run("first", "2026-10", dry_run=False)

    status = migrate.status(engine)
    assert (status.verdict, status.revision) == (Verdict.CURRENT, revisions.head())
    assert set(schema.metadata.tables) <= set(inspect(engine).get_table_names())
    assert store.run("first")["status"] == "extracting"


def test_head_revision_has_exactly_the_tables_of_schema_py(engine):
    """A change of ``schema.py`` without its migration fails here (on each backend)."""
    migrate.upgrade(engine)

    assert diffs_against(engine, schema.metadata) == []


def test_baseline_revision_is_exactly_the_first_release_schema(engine):
    create_first_release_schema(engine)
    first_release = MetaData()
    first_release.reflect(engine)
    marker = snapshot(engine)["fincome_schema_version"]
    first_release.drop_all(engine)

    migrate.upgrade(engine, revisions.BASELINE)

    assert diffs_against(engine, first_release) == []
    assert snapshot(engine)["fincome_schema_version"] == marker == [("1",)]


def test_first_release_database_is_stamped_at_baseline_and_keeps_its_rows(engine):
    old = FirstReleaseStore(engine)
    old.start_run("old-run", "2026-09", dry_run=False)
    confirmed = {"resource": "customers", "record_id": "C1", "payload_hash": "h1"}
    with old.begin() as conn:
        row = {**confirmed, "deleted": False, "confirmed_at": utcnow()}
        upsert(conn, schema.ledger, [row], ["resource", "record_id"])
    assert migrate.status(engine).verdict is Verdict.FIRST_RELEASE

    StateStore(engine).ensure_schema()

    assert migrate.status(engine).verdict is Verdict.CURRENT
    assert version_rows(engine) == [revisions.head()]
    assert StateStore(engine).run("old-run")["month"] == "2026-09"
    with engine.connect() as conn:
        assert conn.execute(select(schema.ledger.c.payload_hash)).scalars().all() == ["h1"]


def test_database_ahead_of_the_code_is_refused_and_left_unwritten(engine, state_db_url, capsys):
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(update(VERSIONS).values(version_num="9999_future"))
    before = snapshot(engine)

    with pytest.raises(StateSchemaError) as refused:
        StateStore(engine).ensure_schema()
    exit_code = state_command(["migrate", "--url", state_db_url])

    assert "9999_future" in str(refused.value) and revisions.head() in str(refused.value)
    assert exit_code == 2 and "9999_future" in capsys.readouterr().err
    assert snapshot(engine) == before


def test_the_head_read_from_the_script_file_names_is_alembics_head():
    assert revisions.shipped_head() == revisions.head()


def test_a_database_one_revision_behind_is_upgraded_on_first_use(engine):
    migrate.upgrade(engine)
    migrate.downgrade(engine, f"{int(revisions.head()) - 1:04d}")

    StateStore(engine).ensure_schema()

    assert version_rows(engine) == [revisions.head()]


def test_a_current_database_is_recognised_without_importing_alembic(engine, state_db_url):
    """Every task checks the database: a current one must not cost the Alembic import."""
    migrate.upgrade(engine)
    probe = (
        "import sys; from fincome_airflow.state.store import StateStore; "
        f"StateStore.from_url({state_db_url!r}).ensure_schema(); "
        "print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )

    assert done.stdout.splitlines()[-1] == "False", done.stdout + done.stderr
    assert version_rows(engine) == [revisions.head()]


def test_foreign_tables_without_a_version_are_refused_and_left_unwritten(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE fincome_runs (run_key VARCHAR(250) PRIMARY KEY)")
    before = snapshot(engine)

    with pytest.raises(StateSchemaError, match="not one this code recognises"):
        StateStore(engine).ensure_schema()

    assert snapshot(engine) == before


def test_two_first_uses_at_once_migrate_once_and_both_succeed(state_db_url):
    created: list[str] = []

    def slow_ddl(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            created.append(statement.split()[2])
            time.sleep(0.05)  # a wide window: the other worker arrives mid-migration

    engines = [make_engine(state_db_url) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def first_use(engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", slow_ddl)
        barrier.wait()
        try:
            StateStore(engine).ensure_schema()
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=first_use, args=(e,)) for e in engines]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert errors == []
    assert created.count("fincome_runs") == 1
    assert version_rows(engines[0]) == [revisions.head()]
    for engine in engines:
        engine.dispose()


def test_a_migration_failing_midway_leaves_the_database_as_it_was(engine):
    def fail_on_ledger(_conn, _cursor, statement, *_args) -> None:
        if "CREATE TABLE fincome_ledger" in statement:
            raise OSError("disk full")

    event.listen(engine, "before_cursor_execute", fail_on_ledger)
    with pytest.raises(OSError, match="disk full"):
        StateStore(engine).ensure_schema()
    event.remove(engine, "before_cursor_execute", fail_on_ledger)

    assert inspect(engine).get_table_names() == []
    StateStore(engine).ensure_schema()
    assert migrate.status(engine).verdict is Verdict.CURRENT


def test_downgrade_to_base_then_upgrade_runs_every_migration_both_ways(engine):
    migrate.upgrade(engine)

    emptied = migrate.downgrade(engine, "base")
    left = set(inspect(engine).get_table_names()) - {VERSION_TABLE}
    again = migrate.upgrade(engine)

    assert emptied.verdict is Verdict.EMPTY and left == set()
    assert again.verdict is Verdict.CURRENT
    assert diffs_against(engine, schema.metadata) == []


def test_migrate_command_brings_the_connection_database_to_head(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_FINCOME_STATE", sqlite_conn_json(tmp_path / "state.db"))

    codes = [state_command([command]) for command in ("status", "migrate", "status")]

    assert codes == [1, 0, 0]
    out = capsys.readouterr().out
    assert f"revision none, code at {revisions.head()}: empty" in out
    assert f"now: state database at revision {revisions.head()}" in out


def test_outcomes_downgraded_below_0004_get_back_the_hash_their_run_confirmed(engine):
    store = StateStore(engine)
    store.ensure_schema()
    at = utcnow()
    store.insert_rows(
        schema.outcomes,
        [
            {"run_key": "r1", "resource": "customers", "record_id": rid, "outcome": "created",
             "at": at}
            for rid in ("C1", "C2")
        ],
    )  # fmt: skip
    store.insert_rows(
        schema.ledger,
        [
            {"resource": "customers", "record_id": "C1", "payload_hash": "h1", "deleted": False,
             "run_key": "r1", "confirmed_at": at},
            {"resource": "customers", "record_id": "C2", "payload_hash": "h2", "deleted": False,
             "run_key": "r2", "confirmed_at": at},
        ],
    )  # fmt: skip

    migrate.downgrade(engine, "0003")

    outcomes = table("fincome_outcomes", column("record_id"), column("payload_hash"))
    with engine.connect() as conn:
        hashes = dict(conn.execute(select(outcomes.c.record_id, outcomes.c.payload_hash)).all())
    assert hashes == {"C1": "h1", "C2": None}  # C2's hash in the ledger is a later run's
    assert migrate.upgrade(engine).verdict is Verdict.CURRENT
    assert diffs_against(engine, schema.metadata) == []
