"""The project's distribution as users get it: its wheel built from ``include/``, installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.paths import REPO


def build_wheel(out: Path) -> Path:
    """Build the ``fincome_airflow`` wheel into ``out``; return its path."""
    # Built from a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
    source = shutil.copytree(
        REPO / "include",
        out / "source",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(source)],
        cwd=out,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("fincome_airflow-*.whl")
    return built


def install_wheel(wheel: Path, target: Path) -> Path:
    """Install ``wheel`` alone into the folder ``target`` (put it first on ``PYTHONPATH``)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", target, wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target
