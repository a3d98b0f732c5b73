"""Extraction of a billing month from the ERP: SQL files run through SQLAlchemy, streamed."""

from __future__ import annotations

from fincome_airflow.extract.queries import load_sql, stream_rows
from fincome_airflow.extract.scope import LoadScope

__all__ = ["LoadScope", "load_sql", "stream_rows"]
