"""What a test session makes once for all its xdist workers: a file made by the first worker
that asks, under a lock, in the folder every worker's temporary folder sits in."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of the whole session (shared by its xdist workers)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], Path]
) -> Path:
    """``make(folder)``'s result, made in ``<session root>/<name>`` by the first worker that
    asks; the others wait for it, then get the same path."""
    folder = session_root(tmp_path_factory) / name
    folder.mkdir(exist_ok=True)
    done = folder / "made"
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                done.write_text(str(make(folder)))
            return Path(done.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
