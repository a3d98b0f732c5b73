"""The project's distribution as users get it: its wheel built from ``include/``, installed.

``uv`` (pinned in requirements.txt) builds, installs and makes venvs: the same PEP 517 build and
the same resolution under ``constraints.txt`` as pip, for a few seconds of CPU instead of minutes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from uv import find_uv_bin

from support.paths import REPO

UV = find_uv_bin()
_UV_PIP_INSTALL = (UV, "pip", "install", "--quiet", "--python")


def build_wheel(out: Path) -> Path:
    """Build the ``fincome_airflow`` wheel into ``out``; return its path."""
    # Built from a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
    source = shutil.copytree(
        REPO / "include",
        out / "source",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    subprocess.run(
        [UV, "build", "--wheel", "--quiet", "--out-dir", str(out), str(source)],
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
        [*_UV_PIP_INSTALL, sys.executable, "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def fresh_venv(
    venv: Path, *requirements: str, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Make a venv at ``venv`` on this interpreter's Python and install ``requirements`` (with
    their dependencies, pinned by ``constraints.txt``) into it, in the environment ``env``."""
    subprocess.run(
        [UV, "venv", "--quiet", "--python", sys.executable, str(venv)],
        check=True,
        capture_output=True,
        timeout=300,
        env=dict(env),
    )
    python = str(venv / "bin" / "python")
    constraints = ("--constraints", str(REPO / "constraints.txt"))
    return subprocess.run(
        [*_UV_PIP_INSTALL, python, *constraints, *requirements],
        capture_output=True,
        text=True,
        timeout=1200,
        env=dict(env),
    )
