"""The sandbox program of the tests' fork server (:mod:`fincome_dev.forkserver`), and the
launcher's spawner that uses it (tests only).

A sandbox started as its own interpreter spends ~0.5 s of CPU importing FastAPI, uvicorn and the
contract's models before it serves; the tests start about sixty. The server imports them once;
each sandbox is then a child that runs ``fincome_sandbox.__main__.main`` with its arguments,
environment (its API key) and log file: the code path of ``python -m fincome_sandbox``
(~0.1 s of CPU from fork to stop). The demo and the bench start theirs as interpreters.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from fincome_dev.forkserver import ForkedProcess, ForkServer

#: The command a child of this program runs.
NAME = "python -m fincome_sandbox"
#: What a sandbox imports before it serves, and as uvicorn starts (its HTTP protocol and
#: lifespan implementations; its event loop's, below).
PRELOAD = (
    "fincome_sandbox.__main__",
    "fincome_sandbox.main",
    "uvicorn",
    "uvicorn.lifespan.on",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
)


def warm() -> None:
    """Import :data:`PRELOAD` and the event loop uvicorn picks (none is created)."""
    for module in PRELOAD:
        importlib.import_module(module)
    importlib.import_module("uvicorn.loops.auto").auto_loop_factory()


def before_fork(_argv: Sequence[str]) -> bool:
    """Nothing to build before a sandbox."""
    return False


def run(argv: Sequence[str]) -> int:  # pragma: no cover - in a forked child
    """``python -m fincome_sandbox <argv>``."""
    from fincome_sandbox.__main__ import main

    return main(list(argv))


class ForkedSandboxes:
    """A :data:`fincome_sandbox.launcher.Spawner` that forks each sandbox from one server,
    started with this process's environment at the first sandbox; :meth:`stop` stops it and
    any sandbox still running."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self._server: ForkServer | None = None
        self._lock = threading.Lock()  # one server, whichever thread starts the first sandbox

    def __call__(self, arguments: list[str], env: dict[str, str], log: Path) -> ForkedProcess:
        with self._lock:
            if self._server is not None and not self._server.alive():
                self._server.stop()  # reaped, its socket's folder removed
                self._server = None
            if self._server is None:
                self._server = ForkServer.start(__name__, os.environ, Path.cwd(), self.log)
            server = self._server
        return server.spawn(arguments, env, Path.cwd(), log, log)

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
