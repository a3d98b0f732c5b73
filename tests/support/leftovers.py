"""No process outlives the test run: a pytest plugin of the controlling process (the one that
starts the xdist workers, or the only one).

Every process the tests start inherits :data:`RUN_ENV` (set before the workers start; an
environment a test builds from nothing lacks it, and is not watched). When the run ends, a
process still alive with this run's value, other than the controlling process and its workers,
was left behind: a fork server's child whose own children outlived it, say, or a component
never stopped. Each gets :data:`GRACE_SECONDS` to go, is then stopped with its tree and named,
and the run fails (``GRACE_ENV`` changes the seconds).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid

import psutil
import pytest

from fincome_dev.forkserver import stop_tree

RUN_ENV = "PYTEST_FINCOME_RUN"
#: Seconds a process still stopping gets when the run ends (a test of the check shortens it).
GRACE_ENV = "PYTEST_FINCOME_LEFTOVER_GRACE"
GRACE_SECONDS = 20.0


def register(config: pytest.Config) -> None:
    """Watch this run's processes, from the controlling process only."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    os.environ[RUN_ENV] = uuid.uuid4().hex
    config.pluginmanager.register(LeftoverCheck(os.environ[RUN_ENV]), "fincome-leftovers")


def _is_xdist_worker(process: psutil.Process) -> bool:
    """An xdist worker: execnet's bootstrap, or the title xdist gives it."""
    with contextlib.suppress(psutil.Error):
        command = " ".join(process.cmdline())
        return "pytest-xdist" in command or "sys.stdin.readline()" in command
    return False


def _described(process: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return f"pid {process.pid} ({' '.join(process.cmdline())[:160]}, cwd {process.cwd()})"
    return f"pid {process.pid}"


class LeftoverCheck:
    def __init__(self, run: str) -> None:
        self.run = run

    def left(self) -> list[psutil.Process]:
        """This run's processes still alive, but the controlling one and its workers."""
        me = psutil.Process()
        ours = {me.pid, *(child.pid for child in me.children() if _is_xdist_worker(child))}
        found = []
        for process in psutil.process_iter():
            if process.pid in ours:
                continue
            # A process gone meanwhile, or one that cannot be read, is not this run's.
            with contextlib.suppress(psutil.Error, OSError, ValueError):
                if process.environ().get(RUN_ENV) == self.run and process.status() != "zombie":
                    found.append(process)
        return found

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        deadline = time.monotonic() + float(os.environ.get(GRACE_ENV, GRACE_SECONDS))
        while (left := self.left()) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not left:
            return
        names = [_described(process) for process in left]
        for process in left:
            stop_tree(process.pid, timeout=5)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("Processes left behind by the tests (stopped now):", red=True)
            for name in names:
                reporter.write_line(f"  {name}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
