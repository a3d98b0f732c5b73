"""What a process forked to run one command does, in either fork server (the tests' Airflow
commands and components and the sandboxes, :mod:`fincome_dev.forkserver`; the bench's smoke stages,
:mod:`fincome_dev.bench.forks`): its standard streams on the command's files, its exit code the
command's, and no interpreter teardown (the forking process's atexit hooks are not its own).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn


def _redirect(path: str, fd: int, flags: int) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o600)
    os.dup2(target, fd)
    os.close(target)


def redirect_stdio(stdout: str, stderr: str, *, append: bool) -> None:
    """Standard input from ``/dev/null``, output and errors to files (appended to, or truncated)."""
    flags = os.O_APPEND if append else os.O_TRUNC
    _redirect(os.devnull, 0, 0)
    _redirect(stdout, 1, flags)
    _redirect(stderr, 2, flags)


def exit_after(command: Callable[[], int | None]) -> NoReturn:  # pragma: no cover - forked
    """Run ``command`` and end the process with its exit code: what it returns (None: 0), its
    ``SystemExit``'s code (a text is printed to stderr, as the interpreter would, and gives 1),
    1 with the traceback on stderr for any other exception."""
    returncode = 1
    try:
        result = command()
        returncode = 0 if result is None else result
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
        os._exit(returncode)
