"""A fork server for the ``airflow`` commands of one local runtime (tests and tools only).

Every ``airflow dags test`` pays about 6 s of CPU before its first task: importing Airflow and its
CLI (~1.7 s) and building the in-process Execution API that ``dags test`` serves its tasks with
(Cadwyn's versioned routers, ~4.5 s). The server pays that once per runtime, then forks one
child per command; the child takes the command's environment, working directory, stdout and
stderr, and runs the ``airflow`` script's own ``main()`` with the command's arguments: the same
code path as ``airflow <args>``, in a fresh process of its own session.

It serves only commands whose Airflow settings (``AIRFLOW__*``, ``AIRFLOW_HOME``, ``PATH``) are
the ones it was started with: Airflow reads some of them once, at import
(:func:`settings_of`). Protocol, over a Unix socket: the client sends one JSON line
``{"argv", "env", "cwd", "stdout", "stderr"}``; the child answers ``{"pid"}`` when it starts and
``{"returncode"}`` when the command ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Environment variables Airflow reads once, when it is imported: a command that changes one
#: cannot run in a child of a server started without it.
_READ_AT_IMPORT = ("AIRFLOW__", "_AIRFLOW")
_EXACT = frozenset({"AIRFLOW_HOME", "AIRFLOW_CONFIG", "PATH", "PYTHONPATH"})
READY = "fincome-forkserver-ready"


def settings_of(env: Mapping[str, str]) -> dict[str, str]:
    """The part of an environment the server's children cannot change."""
    return {k: v for k, v in env.items() if k in _EXACT or k.startswith(_READ_AT_IMPORT)}


def _warm() -> None:
    """Import the CLI and build the in-process Execution API's routes, as ``dags test`` would.

    Building them starts no thread (its event loop starts with the first request, in a child):
    the server forks a single-threaded process.
    """
    import airflow.__main__  # noqa: F401 - the CLI, its parser and settings
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    app = in_process_api_server().app
    initialize = getattr(app, "_cadwyn_initialize", None)
    if initialize is not None and not getattr(app, "_cadwyn_initialized", True):
        initialize()


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _redirect(path: str, fd: int) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(target, fd)
    os.close(target)


def _child(conn: socket.socket, request: dict[str, Any]) -> None:  # pragma: no cover - forked
    """Run one command in this forked process; never returns."""
    returncode = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server's reaper is not ours
        _send(conn, {"pid": os.getpid()})
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _redirect(os.devnull, 0)
        _redirect(request["stdout"], 1)
        _redirect(request["stderr"], 2)
        from airflow import settings
        from airflow.__main__ import main

        if getattr(settings, "engine", None) is not None:
            settings.engine.dispose(close=False)  # the server's pool, if any, stays its own
        sys.argv = ["airflow", *request["argv"]]
        try:
            main()
            returncode = 0
        except SystemExit as stop:
            code = stop.code
            returncode = code if isinstance(code, int) else (0 if code is None else 1)
            if isinstance(code, str):
                print(code, file=sys.stderr)
        except BaseException:  # reported as the command's failure
            traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # nothing left to report it to
                stream.flush()
        try:
            _send(conn, {"returncode": returncode})
        finally:
            os._exit(returncode)


def _reap(_signum: int, _frame: object) -> None:
    """Wait for every finished child (so that their CPU counts in the server's, and in the
    usage of whoever waits for the server: the tests' CPU report)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def serve(path: str) -> None:
    """Warm up, listen on ``path``, fork a child per request (forever)."""
    _warm()
    signal.signal(signal.SIGCHLD, _reap)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    print(READY, flush=True)
    while True:
        conn, _ = listener.accept()
        with conn.makefile("rb") as lines:
            request = json.loads(lines.readline())
        if os.fork() == 0:  # pragma: no cover - the child
            listener.close()
            _child(conn, request)
        conn.close()


@dataclass
class ForkServer:
    """The client of one running server (:meth:`start` it, :meth:`run` commands, :meth:`stop`)."""

    process: subprocess.Popen
    folder: Path
    settings: dict[str, str]

    @property
    def path(self) -> Path:
        return self.folder / "socket"

    @classmethod
    def start(
        cls, env: Mapping[str, str], cwd: Path, log: Path, timeout: float = 180.0
    ) -> ForkServer:
        """Start a server with ``env`` and wait until it listens.

        :raise RuntimeError: it exited or did not get ready in ``timeout`` seconds (its log).
        """
        folder = Path(tempfile.mkdtemp(prefix="airflow-fork-"))  # short: a socket path <= 107
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(folder / "socket")],
                env=dict(env),
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=errors,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = cls(process, folder, settings_of(env))
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline().decode(errors="replace").strip() if ready else ""
        if line != READY:
            server.stop()
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"the Airflow fork server did not start ({line!r}):\n{tail}")
        return server

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <argv>`` in a child; its output captured as text.

        :raise subprocess.TimeoutExpired: still running after ``timeout`` (its tree is stopped).
        """
        args = ["airflow", *argv]
        with tempfile.TemporaryDirectory(prefix="airflow-cmd-") as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd)}
            request |= {"stdout": str(out), "stderr": str(err)}
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(str(self.path))
                conn.settimeout(timeout)
                _send(conn, request)
                with conn.makefile("rb") as answers:
                    pid = json.loads(answers.readline())["pid"]
                    try:
                        last = answers.readline()
                    except TimeoutError:
                        _stop_tree(pid)
                        raise subprocess.TimeoutExpired(args, timeout) from None
            # No answer: the child was killed before it could give its exit status.
            returncode = json.loads(last)["returncode"] if last else -signal.SIGKILL
            read = lambda path: path.read_text(errors="replace") if path.exists() else ""  # noqa: E731
            return subprocess.CompletedProcess(args, returncode, read(out), read(err))

    def stop(self) -> None:
        """Stop the server and any child still running."""
        _stop_tree(self.process.pid)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _stop_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (a command's own processes included)."""
    import psutil

    try:
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.kill()
    psutil.wait_procs(victims, timeout=5)


if __name__ == "__main__":
    serve(sys.argv[1])
