"""The extraction queries' fragments: a part several queries share is written once."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from fincome_airflow.contract import RESOURCES
from fincome_airflow.extract.queries import SQL_DIR_ENV, load_sql, stream_rows


def test_a_fragment_stands_in_its_include_line_with_its_parameters(tmp_path, monkeypatch):
    (tmp_path / "_recent.sql").write_text("recent AS (SELECT id FROM t WHERE at > :since)\n")
    (tmp_path / "things.sql").write_text(
        "WITH\n-- @include recent\nSELECT id FROM recent WHERE id IN :pending_ids\n"
    )
    monkeypatch.setenv(SQL_DIR_ENV, str(tmp_path))

    clause = load_sql("things")

    assert clause.text.splitlines() == [
        "WITH",
        "recent AS (SELECT id FROM t WHERE at > :since)",
        "SELECT id FROM recent WHERE id IN :pending_ids",
    ]
    assert set(clause._bindparams) == {"since", "pending_ids"}
    assert clause._bindparams["pending_ids"].expanding


def test_a_missing_fragment_names_the_query_and_the_file(tmp_path, monkeypatch):
    (tmp_path / "things.sql").write_text("WITH\n-- @include nowhere\nSELECT 1\n")
    monkeypatch.setenv(SQL_DIR_ENV, str(tmp_path))

    with pytest.raises(FileNotFoundError, match=r"query things includes _nowhere\.sql"):
        load_sql("things")


def test_the_packaged_queries_leave_no_include_line_unexpanded(monkeypatch):
    monkeypatch.delenv(SQL_DIR_ENV, raising=False)
    for resource in RESOURCES:
        sql = str(load_sql(resource))
        assert "@include" not in sql, resource
    assert "scoped_contracts AS (" in str(load_sql("subscriptions"))


def test_a_list_parameter_after_not_in_is_refused(tmp_path, monkeypatch):
    (tmp_path / "things.sql").write_text("SELECT id FROM t WHERE id NOT IN :pending_ids\n")
    monkeypatch.setenv(SQL_DIR_ENV, str(tmp_path))

    with pytest.raises(ValueError, match="must not follow NOT IN"):
        load_sql("things")


def test_an_empty_list_parameter_matches_no_row_as_in_null(tmp_path, monkeypatch):
    (tmp_path / "things.sql").write_text(
        "SELECT id FROM t WHERE id > :above OR id IN :pending_ids ORDER BY id\n"
    )
    monkeypatch.setenv(SQL_DIR_ENV, str(tmp_path))
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (id TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('a'), ('b'), ('c'), (NULL)"))

        def ids(pending: object) -> list[str]:
            rows = stream_rows(conn, "things", {"above": "b", "pending_ids": pending})
            return [row.id for row in rows]

        assert ids([]) == ["c"]
        assert ids(frozenset()) == ["c"]
        assert ids(["a"]) == ["a", "c"]
    engine.dispose()
