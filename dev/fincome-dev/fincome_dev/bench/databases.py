"""Throwaway PostgreSQL databases for one benchmark run, and the reference ERP in one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fincome_airflow.engines import erp_engine


@contextmanager
def throwaway(server_url: str, prefix: str = "fincome_bench") -> Iterator[callable]:
    """Yield ``create(label) -> url``; every database created is dropped on exit."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create(label: str) -> str:
        name = f"{prefix}_{label}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_erp(url: str, month: str, invoices: int, *, months: int = 1) -> dict[str, object]:
    """Fill the ERP at ``url`` with ``invoices`` in each of the ``months`` months ending with
    ``month`` (and ANALYZE it)."""
    from fincome_erp import GeneratorConfig, populate
    from fincome_erp.months import Month

    last = Month.parse(month)
    first = last
    for _ in range(months - 1):
        first = first.previous()
    engine = erp_engine(url)
    started = time.perf_counter()
    try:
        config = GeneratorConfig.build(first, last, invoices_per_month=invoices)
        manifest = populate(engine, config, replace=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return {"seconds": time.perf_counter() - started, "rows": dict(manifest.rows)}
