"""The pure parts of the read-ahead extraction: the prefetching reader, the queries compiled for
the driver, the rows' named tuples, the errors naming their query."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, ProgrammingError

from fincome_airflow.extract.ahead import named_error, row_type
from fincome_airflow.extract.prefetch import Prefetcher
from fincome_airflow.extract.queries import SQL_DIR_ENV, DriverQuery, driver_query
from fincome_dev.airflow_env import wait_for

PG = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")  # never connects


class Source:
    """Chunks ``0, 1, ...`` counted as the reader pulls them; the thread that closed it."""

    def __init__(self, size: int, fail_at: int | None = None) -> None:
        self.pulled = 0
        self.closed_by: str | None = None
        self._size = size
        self._fail_at = fail_at

    def chunks(self) -> Iterator[int]:
        try:
            for n in range(self._size):
                if n == self._fail_at:
                    raise LookupError(f"chunk {n}")
                self.pulled += 1
                yield n
        finally:
            self.closed_by = threading.current_thread().name


def _until(condition) -> None:
    wait_for(condition, timeout=10, interval=0.01, what="the reader to get there")


def test_a_prefetcher_yields_every_chunk_in_order():
    source = Source(7)
    reader = Prefetcher(source.chunks(), depth=2)
    assert list(reader) == list(range(7))
    reader.close()
    assert source.closed_by == "fincome-prefetch"


def test_a_prefetcher_not_read_from_reads_depth_chunks_and_no_more():
    source = Source(100)
    reader = Prefetcher(source.chunks(), depth=3, name="fincome-waiting")
    _until(lambda: source.pulled == 3)
    reader.close()  # the reader waits for a slot: it stops there without reading on
    assert source.pulled == 3
    assert source.closed_by == "fincome-waiting"


def test_closing_a_prefetcher_midway_stops_its_reader_and_closes_the_source_in_its_thread():
    source = Source(100)
    reader = Prefetcher(source.chunks(), depth=2, name="fincome-midway")
    chunks = iter(reader)
    assert [next(chunks), next(chunks)] == [0, 1]
    reader.close()
    assert source.closed_by == "fincome-midway"
    assert source.pulled <= 4
    assert "fincome-midway" not in [t.name for t in threading.enumerate()]


def test_a_prefetchers_source_error_is_raised_in_the_consumers_thread_after_the_chunks_before():
    source = Source(10, fail_at=3)
    reader = Prefetcher(source.chunks(), depth=2)
    taken = []
    with pytest.raises(LookupError, match="chunk 3"):
        for chunk in reader:
            taken.append(chunk)
    reader.close()
    assert taken == [0, 1, 2]


def test_a_query_for_the_driver_expands_its_lists_and_binds_an_empty_one_as_null(
    tmp_path, monkeypatch
):
    (tmp_path / "things.sql").write_text(
        "SELECT id FROM t WHERE at >= :since AND (id IN :pending_ids OR id IN :other_ids)\n"
    )
    monkeypatch.setenv(SQL_DIR_ENV, str(tmp_path))
    since = dt.date(2026, 10, 1)

    query = driver_query(
        "things",
        {"since": since, "pending_ids": ["b", "a"], "other_ids": [], "unused": 1},
        PG.dialect,
    )

    assert query.name == "things"
    assert "IN (%(pending_ids_1)s, %(pending_ids_2)s)" in query.sql
    assert "IN (%(other_ids_1)s)" in query.sql
    assert dict(query.params) == {
        "since": since,
        "pending_ids_1": "b",
        "pending_ids_2": "a",
        "other_ids_1": None,
    }


def test_a_query_for_the_driver_names_the_parameters_it_lacks(tmp_path, monkeypatch):
    (tmp_path / "things.sql").write_text("SELECT id FROM t WHERE at >= :since\n")
    monkeypatch.setenv(SQL_DIR_ENV, str(tmp_path))
    with pytest.raises(ValueError, match=r"query things needs parameters \['since'\]"):
        driver_query("things", {}, PG.dialect)


def test_rows_whose_columns_name_fields_read_by_name():
    row = row_type(("cust_no", "company_name"))._make(("C-1", "Acme"))
    assert (row.cust_no, row.company_name) == ("C-1", "Acme")


def test_a_column_that_cannot_name_a_field_is_read_by_position_the_others_by_name():
    row = row_type(("cust_no", "?column?", "cust_no", "class"))._make(("C-1", 2, "C-2", "x"))
    assert row.cust_no == "C-1"
    assert row._fields == ("cust_no", "_1", "_2", "_3")
    assert tuple(row) == ("C-1", 2, "C-2", "x")


def test_a_drivers_error_in_a_reader_is_wrapped_as_sqlalchemy_does_and_names_its_query():
    query = DriverQuery("invoices", "SELECT nothing FROM invoices", {})
    error = named_error(psycopg2.ProgrammingError("column nothing does not exist"), query, PG)
    assert isinstance(error, ProgrammingError)
    assert str(error).startswith("(query invoices)\n(psycopg2.ProgrammingError) column nothing")


def test_an_error_already_wrapped_gets_the_query_name_and_another_a_note():
    query = DriverQuery("customers", "SELECT 1", {})
    wrapped = DBAPIError.instance(
        None, None, psycopg2.OperationalError("server closed"), psycopg2.Error
    )
    assert named_error(wrapped, query, PG) is wrapped
    assert str(wrapped).startswith("(query customers)")
    other = named_error(KeyError("cust_no"), query, PG)
    assert other.__notes__ == ["query customers"]
