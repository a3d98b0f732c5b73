"""Fincome for Apache Airflow: hook, operators, models and transforms.

This module stays import-light: Airflow's provider discovery calls :func:`get_provider_info`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Describe this distribution to Airflow (the ``fincome`` connection type and its form)."""
    from fincome_airflow.provider_info import PROVIDER_INFO

    return PROVIDER_INFO
