"""The run's check that no process outlives the tests (``support/leftovers.py``), on a pytest
run of its own whose test leaves a process behind, or stops it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from support.leftovers import GRACE_ENV, RUN_ENV

TESTS = Path(__file__).resolve().parents[1]

CONFTEST = """
from support import leftovers

def pytest_configure(config):
    leftovers.register(config)
"""

TEST = """
import subprocess, sys
from pathlib import Path

def test_starts_a_sleeper():
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    Path("sleeper.pid").write_text(str(sleeper.pid))
    if {stop}:
        sleeper.kill()
        sleeper.wait()
"""


def inner_run(tmp_path: Path, *, stop: bool) -> tuple[subprocess.CompletedProcess[str], int]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(TEST.format(stop=stop)))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", RUN_ENV)}
    env |= {"PYTHONPATH": str(TESTS), GRACE_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, int((tmp_path / "sleeper.pid").read_text())


def stopped(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_process_left_behind_is_named_stopped_and_fails_the_run(tmp_path):
    done, pid = inner_run(tmp_path, stop=False)
    still_there = not stopped(pid)
    if still_there:  # the check failed to stop it: not left to the end of this run
        psutil.Process(pid).kill()
    assert not still_there
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    assert "1 passed" in done.stdout
    assert "Processes left behind by the tests (stopped now):" in done.stdout
    assert f"pid {pid} (sleep 300" in done.stdout


def test_a_run_whose_processes_all_ended_passes(tmp_path):
    done, _pid = inner_run(tmp_path, stop=True)
    assert done.returncode == pytest.ExitCode.OK, done.stdout[-3000:]
    assert "left behind" not in done.stdout
