"""The ``airflow`` command of this interpreter, for commands that drive Airflow's CLI."""

from __future__ import annotations

import sys
from pathlib import Path


def airflow_argv(*args: str) -> list[str]:
    """Return the argv running ``airflow <args>`` with this interpreter's Airflow."""
    script = Path(sys.executable).parent / "airflow"
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "airflow"]
    return [*prefix, *args]
