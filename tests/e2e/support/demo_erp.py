"""The demo ERP of the end-to-end tests: ``python -m fincome_erp demo``, in-process."""

from __future__ import annotations

from typing import Any


def fill_demo_erp(url: str) -> dict[str, Any]:
    """Write the demo set into the ERP at ``url`` (SQLite or PostgreSQL); return its manifest."""
    from fincome_airflow.db import erp_engine
    from fincome_erp import populate
    from fincome_erp.presets import DEMO

    engine = erp_engine(url)
    try:
        return populate(engine, DEMO, replace=True).to_dict()
    finally:
        engine.dispose()
