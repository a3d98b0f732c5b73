"""A fork server for the commands and long-running processes of the tests and tools (tests and
tools only): a program's code imported once, then one forked child per request.

A *program* is a module with ``NAME`` (the command it stands for, in messages), ``warm()`` (what
the server imports and fills once, before it forks), ``before_fork(argv)`` (work the server does
once before the first child that needs it) and ``run(argv)`` (in the child: the command's own
entry point, its environment, directory and output already the request's):
:mod:`fincome_dev.airflow_forkserver` (``airflow <argv>``) and :mod:`fincome_dev.sandbox_forks`
(``python -m fincome_sandbox <argv>``). The child is a fresh process of its own session (its
process group, as ``start_new_session`` gives a plain process).

Protocol, over a Unix socket: the client sends one JSON line
``{"argv", "env", "cwd", "stdout", "stderr"}`` (output appended to those files); the child
answers ``{"pid"}`` once in its own session, the server ``{"returncode"}`` when it has reaped it
(minus the signal's number when a signal ended it, as :mod:`subprocess` gives it), then closes.

The server stays single-threaded (a forked child gets only the thread that forked it): it waits
for requests and for its signals (SIGCHLD, SIGTERM) in one ``select`` loop. It pauses the garbage
collector for its life and freezes what it holds before it forks (:mod:`fincome_dev.import_gc`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import psutil

from fincome_dev import import_gc
from fincome_dev.forkchild import exit_after, redirect_stdio

READY = "fincome-forkserver-ready"
#: Seconds a client waits for the server to fork its child and give its pid.
_HANDSHAKE_TIMEOUT = 60.0
#: A file the server appends one JSON line to per reaped child: its argv, the test that asked
#: (``PYTEST_CURRENT_TEST``), its user and system CPU seconds (its own and its reaped
#: descendants'), its wall seconds and the number of objects the server had frozen for its
#: children (a measuring aid; off when unset).
CPU_LOG = "FINCOME_FORKSERVER_CPU_LOG"
#: A folder where each child writes its ``cProfile`` (``<pid>.prof``; off when unset).
PROFILE = "FINCOME_FORKSERVER_PROFILE"


def stop_tree(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM a process, its process group and every descendant (some may have left the group),
    wait up to ``timeout`` seconds, then SIGKILL what is left (at once when ``timeout`` is 0)."""
    victims: list[psutil.Process] = []
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    alive = victims
    if timeout > 0:
        _signal_all(pid, victims, signal.SIGTERM)
        _gone, alive = psutil.wait_procs(victims, timeout=timeout)
    _signal_all(pid, alive, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)


def _signal_all(group: int, processes: list[psutil.Process], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def _check_single_threaded(step: str) -> None:
    """Raise if ``step`` left a thread running: the server's children would lack it."""
    if threading.active_count() > 1:
        raise RuntimeError(f"{step} started threads: {threading.enumerate()}")


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _run_child(  # pragma: no cover - forked
    conn: socket.socket, request: dict[str, Any], program: ModuleType
) -> NoReturn:
    """Run ``program.run(argv)`` in this forked child of the server; never returns."""

    def command() -> int | None:
        os.setsid()  # before the client knows the pid: its group is the pid's
        with conn:  # the child's processes must not hold the client's connection
            _send(conn, {"pid": os.getpid()})
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        redirect_stdio(request["stdout"], request["stderr"], append=True)
        profile_to = os.environ.get(PROFILE)
        if not profile_to:
            return program.run(request["argv"])
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        try:
            return profiler.runcall(program.run, request["argv"])
        finally:
            profiler.dump_stats(os.path.join(profile_to, f"{os.getpid()}.prof"))

    exit_after(command)


def _ignore(_signum: int, _frame: object) -> None:
    """A Python handler does nothing itself: the wakeup pipe tells the loop which signal came."""


class _Server:
    """The loop: fork a child per request, tell its client when it is reaped."""

    def __init__(self, path: str, program: ModuleType) -> None:
        self.program = program
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.wakeup, wakeup_write = os.pipe()
        os.set_blocking(self.wakeup, False)
        os.set_blocking(wakeup_write, False)
        self.own_fds = [self.wakeup, wakeup_write]
        signal.set_wakeup_fd(wakeup_write)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, _ignore)
        #: The connection of each child's client, until the child is reaped.
        self.children: dict[int, socket.socket] = {}
        #: The argv and start time of each child, when its CPU is logged (:data:`CPU_LOG`).
        self.cpu_log = os.environ.get(CPU_LOG)
        self.started: dict[int, tuple[list[str], str, float]] = {}
        self.stopping = False

    def serve(self) -> None:
        """Serve until SIGTERM, then until every child is reaped."""
        while not (self.stopping and not self.children):
            sources = [self.wakeup] if self.stopping else [self.wakeup, self.listener]
            ready, _, _ = select.select(sources, [], [])
            if self.listener in ready:
                self._fork(*self.listener.accept())
            if self.wakeup in ready:
                self._on_signals(os.read(self.wakeup, 512))

    def _fork(self, conn: socket.socket, _address: object) -> None:
        try:
            with conn.makefile("rb") as lines:
                request = json.loads(lines.readline())
        except (OSError, ValueError):  # a client gone before asking: nothing to run
            conn.close()
            return
        if self.program.before_fork(request["argv"]):
            _check_single_threaded(f"preparing {self.program.NAME} {' '.join(request['argv'])}")
            import_gc.freeze_kept()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            self._become_child()
            _run_child(conn, request, self.program)
        self.children[pid] = conn
        if self.cpu_log:
            test = request["env"].get("PYTEST_CURRENT_TEST", "")
            self.started[pid] = (request["argv"], test, time.monotonic())

    def _become_child(self) -> None:  # pragma: no cover - forked
        """Leave the server's signals and sockets behind; collect garbage again."""
        import_gc.resume()
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        self.listener.close()
        for conn in self.children.values():
            conn.close()
        for fd in self.own_fds:
            os.close(fd)

    def _on_signals(self, signums: bytes) -> None:
        if signal.SIGTERM in signums and not self.stopping:
            self.stopping = True
            self.listener.close()
            for pid in self.children:  # they leave in their own time; reaped below
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)
        self._reap()

    def _reap(self) -> None:
        """Wait for every finished child (its CPU then counts in the server's, and in the usage
        of whoever waits for the server: the tests' CPU report) and tell its client."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.cpu_log:
                self._log_cpu(pid, usage)
            conn = self.children.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(OSError):
                    _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
                conn.close()

    def _log_cpu(self, pid: int, usage: Any) -> None:
        argv, test, started = self.started.pop(pid, ([], "", time.monotonic()))
        line = {"argv": argv, "test": test, "user": usage.ru_utime, "system": usage.ru_stime}
        line["frozen"] = gc.get_freeze_count()
        line["wall"] = round(time.monotonic() - started, 3)
        with open(self.cpu_log, "a") as log:  # type: ignore[arg-type]
            log.write(json.dumps(line) + "\n")


def serve(path: str, program_name: str) -> NoReturn:
    """Import the program, warm it up, serve on ``path`` until SIGTERM, then exit at once: the
    interpreter's own exit (its ``atexit`` hooks, freeing what the warm-up imported) costs
    seconds of CPU for nothing.

    Only :data:`READY` goes to the client's pipe: what the warm-up prints (an import's warning
    on stdout, say) goes to the server's log with its stderr."""
    import_gc.pause()  # for the server's life: its children resume collections
    sys.stdout.flush()
    to_client = os.dup(1)
    os.dup2(2, 1)
    program = importlib.import_module(program_name)
    program.warm()
    _check_single_threaded("the warm-up")
    import_gc.freeze_kept()
    server = _Server(path, program)
    sys.stdout.flush()
    os.write(to_client, f"{READY}\n".encode())
    os.close(to_client)
    server.serve()
    sys.stderr.flush()
    os._exit(0)


class ForkedProcess:
    """A child of the server, with what the runtimes use of :class:`subprocess.Popen`."""

    def __init__(self, args: list[str], pid: int, conn: socket.socket) -> None:
        self.args = args
        self.pid = pid
        self.returncode: int | None = None
        self._conn = conn

    def poll(self) -> int | None:
        """The exit status if the child was reaped, else None."""
        if self.returncode is None:
            self._receive(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit status.

        :raise subprocess.TimeoutExpired: not reaped after ``timeout`` seconds.
        """
        if self.returncode is None and not self._receive(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the child, unless it was reaped (its pid may be another process's by then)."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _receive(self, timeout: float | None) -> bool:
        ready, _, _ = select.select([self._conn], [], [], timeout)
        if not ready:
            return False
        answer = _read_line(self._conn)
        self._conn.close()
        # No status: the server was killed before it could reap the child.
        self.returncode = json.loads(answer)["returncode"] if answer else -signal.SIGKILL
        return True


def _read_line(conn: socket.socket) -> bytes:
    """One message, byte by byte (the next one is read later, maybe after a ``select``); empty
    when the connection closed first."""
    line = b""
    while not line.endswith(b"\n") and (byte := conn.recv(1)):
        line += byte
    return line


def spawn_at(
    path: Path,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    stdout: Path,
    stderr: Path,
    *,
    name: str,
) -> ForkedProcess:
    """Ask the server listening on ``path`` to start ``<name> <argv>`` in a child, its output
    appended to ``stdout``, ``stderr``."""
    request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd)}
    request |= {"stdout": str(stdout), "stderr": str(stderr)}
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(_HANDSHAKE_TIMEOUT)
        conn.connect(str(path))
        _send(conn, request)
        started = json.loads(_read_line(conn) or "{}")
        if "pid" not in started:
            raise RuntimeError(f"{name} {' '.join(argv)} did not start: {started}")
        conn.settimeout(None)
    except BaseException:
        conn.close()
        raise
    return ForkedProcess([name, *argv], started["pid"], conn)


def run_at(
    path: Path,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float | None = None,
    *,
    name: str,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``<name> <argv>`` to its end in a child of the server listening on ``path``; its
    output captured.

    :raise subprocess.TimeoutExpired: still running after ``timeout`` (its tree is killed).
    Interrupted otherwise (a signal handler raising, say), the child's tree is stopped first
    (SIGTERM, SIGKILL after 5 s).
    """
    with tempfile.TemporaryDirectory(prefix="fork-cmd-") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        child = spawn_at(path, argv, env, cwd, out, err, name=name)
        try:
            returncode = child.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_tree(child.pid, timeout=0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(5)  # reaped by the server
            raise subprocess.TimeoutExpired(child.args, timeout) from None
        except BaseException:
            stop_tree(child.pid, timeout=5)
            raise
        read = lambda output: output.read_bytes() if output.exists() else b""  # noqa: E731
        return subprocess.CompletedProcess(child.args, returncode, read(out), read(err))


@dataclass
class ForkServer:
    """The client of one running server of a program (:meth:`start` it, :meth:`run` commands,
    :meth:`spawn` long-running processes, :meth:`stop`)."""

    process: subprocess.Popen
    folder: Path
    #: The program's ``NAME`` (the command it stands for).
    name: str
    #: The environment the server was started with.
    env: dict[str, str]

    @property
    def path(self) -> Path:
        return self.folder / "socket"

    @classmethod
    def start(
        cls, program: str, env: Mapping[str, str], cwd: Path, log: Path, timeout: float = 180.0
    ) -> ForkServer:
        """Start a server of the ``program`` module with ``env`` and wait until it listens.

        :raise RuntimeError: it exited or did not get ready in ``timeout`` seconds (its log).
        """
        name = importlib.import_module(program).NAME
        folder = Path(tempfile.mkdtemp(prefix="fork-server-"))  # short: a socket path <= 107
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, program, str(folder / "socket")],
                env=dict(env),
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=errors,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = cls(process, folder, name, dict(env))
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline().decode(errors="replace").strip() if ready else ""
        if line != READY:
            server.stop()
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"the fork server of {name} did not start ({line!r}):\n{tail}")
        return server

    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, stdout: Path, stderr: Path
    ) -> ForkedProcess:
        """Start ``<name> <argv>`` in a child, its output appended to ``stdout``, ``stderr``."""
        return spawn_at(self.path, argv, env, cwd, stdout, stderr, name=self.name)

    def run(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run ``<name> <argv>`` in a child; its output captured as text.

        :raise subprocess.TimeoutExpired: still running after ``timeout`` (its tree is stopped).
        """
        done = run_at(self.path, argv, env, cwd, timeout, name=self.name)
        text = lambda output: output.decode(errors="replace")  # noqa: E731
        return subprocess.CompletedProcess(
            done.args, done.returncode, text(done.stdout), text(done.stderr)
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server and any child still running (SIGTERM, then SIGKILL after
        ``timeout``): the server exits once it has reaped them."""
        if self.process.poll() is None:  # a stopped server's pid may be another's by now
            stop_tree(self.process.pid, timeout=timeout)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    serve(sys.argv[2], sys.argv[1])
