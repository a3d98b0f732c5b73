"""The run's check that no process outlives the tests (``support/leftovers.py``), on a pytest
run of its own whose test leaves a process behind, or stops it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
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
import subprocess

def test_starts_a_sleeper():
    sleeper = subprocess.Popen(["sleep", "{seconds}"], start_new_session=True)
    if {stop}:
        sleeper.kill()
        sleeper.wait()
"""


def sleepers(seconds: str) -> list[psutil.Process]:
    """The live ``sleep <seconds>`` processes (the inner test's, by its unique argument)."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.cmdline() == ["sleep", seconds] and process.status() != "zombie":
                found.append(process)
    return found


def inner_run(tmp_path: Path, *, stop: bool) -> tuple[subprocess.CompletedProcess[str], str]:
    """A pytest run of its own whose test starts ``sleep <seconds>`` (a value of its own) and
    stops it or not; the sleeper is killed afterwards if it is still there."""
    seconds = f"300.{uuid.uuid4().int % 10**9}"
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_inner.py").write_text(TEST.format(seconds=seconds, stop=stop))
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
    return done, seconds


def test_a_process_left_behind_is_named_stopped_and_fails_the_run(tmp_path):
    done, seconds = inner_run(tmp_path, stop=False)
    left = sleepers(seconds)
    for process in left:  # the check failed to stop it: not left to the end of this run
        process.kill()
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert left == [], output
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert "1 passed" in done.stdout
    assert "Processes left behind by the tests (stopped now):" in done.stdout
    assert f"(sleep {seconds}, cwd {tmp_path})" in done.stdout


def test_a_run_whose_processes_all_ended_passes(tmp_path):
    done, seconds = inner_run(tmp_path, stop=True)
    assert sleepers(seconds) == []
    assert done.returncode == pytest.ExitCode.OK, done.stdout[-3000:]
    assert "left behind" not in done.stdout
