"""Run benchmark stages as child processes and read back their figures.

Each stage is a fresh interpreter (``python -m fincome_dev.bench.child``); inside
:func:`forked_stages` (the smoke pass), a child forked from :mod:`fincome_dev.bench.forks`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fincome_dev.bench.forks import Forked, StageServer, serving

#: The stage server of :func:`forked_stages`, while one runs.
_server: StageServer | None = None


@contextmanager
def forked_stages() -> Iterator[None]:
    """Within: every stage a child forked from one stage server (see :mod:`.forks`)."""
    global _server
    with serving() as server:
        _server = server
        try:
            yield
        finally:
            _server = None


class StageFailed(RuntimeError):
    """A stage's process exited with an error (its stderr tail is in the message)."""


def _command(stage: str, args: Mapping[str, Any]) -> list[str]:
    return [sys.executable, "-m", "fincome_dev.bench.child", stage, json.dumps(args)]


def _start(
    stage: str, args: Mapping[str, Any], env: Mapping[str, str] | None, out: Any, err: Any
) -> subprocess.Popen[bytes] | Forked:
    if _server is not None:
        return _server.run(stage, args, env or {}, out.name, err.name)
    return subprocess.Popen(
        _command(stage, args),
        stdout=out,
        stderr=err,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def _result(
    stage: str, proc: subprocess.Popen[bytes] | Forked, out: Any, err: Any
) -> dict[str, Any]:
    out.seek(0)
    err.seek(0)
    stdout = out.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = err.read().decode(errors="replace")[-3000:]
        raise StageFailed(f"stage {stage} exited {proc.returncode}:\n{tail}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def run_stage(
    stage: str, args: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run one stage in its own process; return its figures plus ``wall_s`` (process time)."""
    return run_stages([(stage, args, env)])[0]


def run_stages(
    stages: Sequence[tuple[str, Mapping[str, Any], Mapping[str, str] | None]],
) -> list[dict[str, Any]]:
    """Run stages at once, each in its own process; return their figures in the given order."""
    started = time.perf_counter()
    running = []
    for stage, args, env in stages:
        # a forked child opens its files by name; a fresh process is handed them
        temporary = tempfile.TemporaryFile if _server is None else tempfile.NamedTemporaryFile
        out = temporary()  # both closed below
        err = temporary()
        proc = _start(stage, args, env, out, err)
        running.append((stage, proc, out, err))
    results = []
    try:
        for stage, proc, out, err in running:
            proc.wait()
            result = _result(stage, proc, out, err)
            result["wall_s"] = time.perf_counter() - started
            results.append(result)
    finally:
        for _, proc, out, err in running:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.close()
            err.close()
    return results
