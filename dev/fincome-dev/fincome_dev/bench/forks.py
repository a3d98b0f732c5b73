"""The smoke pass's stage processes, forked from a server that imported their code once.

A stage process (:mod:`fincome_dev.bench.child`) spends about 1.8 s of CPU importing Airflow and
our distribution before its work; the smoke pass runs 36 of them on tiny data. With
``--smoke`` the bench imports what the stages import (:data:`WARM`: most of it the bench
imports anyway), then forks a server before it opens any connection or thread. The server
forks a child per stage, which takes the stage's environment and output files and runs
:func:`fincome_dev.bench.child.main`: the stage's own code path, in a process of its own. The
full bench never uses it: its figures include a stage's own interpreter, as an Airflow task's.

Protocol, over two pipes: the bench writes one JSON line per stage ``{"stage", "args", "env",
"stdout", "stderr"}``; the server answers ``{"pid"}`` when the child starts and ``{"pid",
"returncode"}`` when it ends. The server waits for every child (so that their CPU counts in its
own, and in the bench's, which waits for the server) and exits once the bench closes its end
and its children are done.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Final, NoReturn

from fincome_dev.forkchild import exit_after, redirect_stdio

#: What the stages import (lazily, in :mod:`fincome_dev.bench.child`), and what they import as
#: they run: the driver, the state database's migrations, the connection's lookup, the budget.
WARM: Final = (
    "fincome_dev.bench.child",
    "fincome_airflow.engines",
    "fincome_airflow.extract.queries",
    "fincome_airflow.extract.scope",
    "fincome_airflow.hooks.fincome",
    "fincome_airflow.load.send_loops",
    "fincome_airflow.month",
    "fincome_airflow.stage.stage_month",
    "fincome_airflow.state.ledger",
    "fincome_airflow.state.store",
    "sqlalchemy.dialects.postgresql.psycopg2",
    "psycopg2.extras",
    "fincome_airflow.state.migrate",
    "alembic.autogenerate",
    "mako.template",
    "airflow.sdk.definitions.connection",
    "airflow.sdk.execution_time.supervisor",
    "fincome_airflow.hooks.budget.shared",
    "redis.asyncio",
)
#: Seconds :meth:`StageServer.stop` waits for the server before killing it.
STOP_TIMEOUT_S: Final = 60.0


def _send(answers: int, message: dict[str, Any]) -> None:
    os.write(answers, json.dumps(message).encode() + b"\n")


def _child(request: dict[str, Any], inherited: tuple[int, ...]) -> NoReturn:  # pragma: no cover
    """Run one stage in this forked process, as ``python -m fincome_dev.bench.child`` would."""

    def stage() -> int:
        signal.set_wakeup_fd(-1)
        for signum, handler in ((signal.SIGCHLD, signal.SIG_DFL), (signal.SIGTERM, signal.SIG_DFL),
                                (signal.SIGINT, signal.default_int_handler)):  # fmt: skip
            signal.signal(signum, handler)
        for fd in inherited:
            os.close(fd)
        os.environ.update(request["env"])
        redirect_stdio(request["stdout"], request["stderr"], append=False)
        # streams of their own on the new descriptors, whatever the forking process's were
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's, never closed
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        logging.root.handlers.clear()  # the bench's; the stage configures its own
        from fincome_dev.bench import child

        return child.main([request["stage"], json.dumps(request["args"])])

    exit_after(stage)


def _reap(answers: int) -> None:
    """Wait for the finished children and report their exit codes."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        _send(answers, {"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})


def _serve(requests: int, answers: int) -> NoReturn:  # pragma: no cover - the forked server
    """Fork a child per request line until ``requests`` closes, then wait for the children.

    It never returns into the bench's code it was forked from (its databases, its sandbox).
    """
    code = 0
    wakeup = os.pipe()
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):  # it ends when the bench's pipe closes
            signal.signal(signum, signal.SIG_IGN)
        for fd in wakeup:
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wakeup[1])
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only wakes the select below
        pending, reading = b"", True
        while reading:
            ready, _, _ = select.select([requests, wakeup[0]], [], [])
            with contextlib.suppress(BlockingIOError):
                os.read(wakeup[0], 512)
            _reap(answers)
            if requests not in ready:
                continue
            chunk = os.read(requests, 65536)
            reading = bool(chunk)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                pid = os.fork()
                if pid == 0:
                    _child(json.loads(line), (requests, answers, *wakeup))
                _send(answers, {"pid": pid})
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(ChildProcessError):  # every child, answered or not
            while True:
                pid, status = os.waitpid(-1, 0)
                with contextlib.suppress(OSError):
                    _send(answers, {"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})
        os._exit(code)


class Forked:
    """A stage child of the server, with the part of :class:`subprocess.Popen` that
    :mod:`fincome_dev.bench.procs` uses."""

    def __init__(self, server: StageServer, pid: int) -> None:
        self.server, self.pid = server, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int:
        while self.returncode is None:
            self.server.read_answer()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


class StageServer:
    """The bench's side: :meth:`start` the server, :meth:`run` stages, :meth:`stop` it."""

    def __init__(self, pid: int, requests: BinaryIO, answers: BinaryIO) -> None:
        self.pid, self.requests, self.answers = pid, requests, answers
        self.children: dict[int, Forked] = {}

    @classmethod
    def start(cls) -> StageServer:
        """Import :data:`WARM` and fork the server: call it before any connection or thread."""
        for name in WARM:
            importlib.import_module(name)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the server
            os.close(requests_w)
            os.close(answers_r)
            _serve(requests_r, answers_w)
        os.close(requests_r)
        os.close(answers_w)
        return cls(pid, os.fdopen(requests_w, "wb"), os.fdopen(answers_r, "rb"))

    def _answer(self) -> dict[str, Any]:
        line = self.answers.readline()
        if not line:
            raise RuntimeError("the bench's stage server exited")
        return json.loads(line)

    def _ended(self, answer: dict[str, Any]) -> None:
        if (forked := self.children.pop(answer["pid"], None)) is not None:
            forked.returncode = answer["returncode"]

    def read_answer(self) -> None:
        """Read one answer: a child ended (its handle gets its exit code)."""
        self._ended(self._answer())

    def run(self, stage: str, args: Mapping[str, Any], env: Mapping[str, str], out: str,
            err: str) -> Forked:  # fmt: skip
        """Start ``stage`` in a forked child with ``env`` added, writing to the files ``out``
        and ``err``."""
        request = {"stage": stage, "args": dict(args), "env": dict(env)}
        request |= {"stdout": out, "stderr": err}
        self.requests.write(json.dumps(request, default=str).encode() + b"\n")
        self.requests.flush()
        while "returncode" in (answer := self._answer()):  # another child ended meanwhile
            self._ended(answer)
        forked = self.children[answer["pid"]] = Forked(self, answer["pid"])
        return forked

    def stop(self) -> None:
        """Kill the children still running, close the server's input and wait for it."""
        for forked in list(self.children.values()):
            forked.kill()
        self.requests.close()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while not os.waitpid(self.pid, os.WNOHANG)[0]:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        self.answers.close()


@contextlib.contextmanager
def serving() -> Iterator[StageServer]:
    """A started server, stopped on exit."""
    server = StageServer.start()
    try:
        yield server
    finally:
        server.stop()
