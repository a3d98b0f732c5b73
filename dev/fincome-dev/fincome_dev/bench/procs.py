"""Run benchmark stages as child processes and read back their figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any


class StageFailed(RuntimeError):
    """A stage's process exited with an error (its stderr tail is in the message)."""


def _command(stage: str, args: Mapping[str, Any]) -> list[str]:
    return [sys.executable, "-m", "fincome_dev.bench.child", stage, json.dumps(args)]


def _result(stage: str, proc: subprocess.Popen[bytes], out: Any, err: Any) -> dict[str, Any]:
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
        out = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
        err = tempfile.TemporaryFile()  # noqa: SIM115
        proc = subprocess.Popen(
            _command(stage, args),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
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
