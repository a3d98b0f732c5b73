"""Operators that load staged records into Fincome and delete records from it."""

from __future__ import annotations

from fincome_airflow.operators.delete import FincomeDeleteOperator
from fincome_airflow.operators.load import FincomeLoadOperator

__all__ = ["FincomeDeleteOperator", "FincomeLoadOperator"]
