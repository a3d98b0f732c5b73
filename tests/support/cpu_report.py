"""Where the suite's CPU goes: with ``FINCOME_TEST_CPU_REPORT=<folder>``, each worker writes one
JSON line per test phase (setup, call, teardown) with its wall seconds and the CPU seconds of the
worker and of the processes it reaped meanwhile (an Airflow component or sandbox counts when it
is stopped, so a module fixture's processes land on the module's last teardown).
``python -m support.cpu_report <folder>`` prints the files by CPU.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "FINCOME_TEST_CPU_REPORT"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuReport:
    """A pytest plugin: appends ``{"test", "phase", "cpu", "wall"}`` lines to one file a worker."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.out = (folder / f"{worker}.jsonl").open("a", encoding="utf-8")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        yield from self._measure(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        yield from self._measure(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        yield from self._measure(item, "teardown")

    def _measure(self, item: pytest.Item, phase: str) -> Iterator[None]:
        cpu, wall = _cpu(), time.perf_counter()
        yield
        line = {
            "test": item.nodeid,
            "phase": phase,
            "cpu": round(_cpu() - cpu, 3),
            "wall": round(time.perf_counter() - wall, 3),
        }
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()


def register(config: pytest.Config) -> None:
    """Register the plugin when :data:`ENV` names a folder."""
    if folder := os.environ.get(ENV):
        config.pluginmanager.register(CpuReport(Path(folder)), "fincome_cpu_report")


def summary(folder: Path, top: int = 40) -> str:
    """Files by CPU seconds (with wall seconds beside), and the total."""
    cpu: dict[str, float] = defaultdict(float)
    wall: dict[str, float] = defaultdict(float)
    for path in folder.glob("*.jsonl"):
        for raw in path.read_text("utf-8").splitlines():
            line = json.loads(raw)
            name = line["test"].split("::")[0]
            cpu[name] += line["cpu"]
            wall[name] += line["wall"]
    rows = sorted(cpu, key=cpu.__getitem__, reverse=True)
    text = [f"{'cpu s':>8} {'wall s':>8}  file"]
    text += [f"{cpu[n]:8.1f} {wall[n]:8.1f}  {n}" for n in rows[:top]]
    text.append(f"{sum(cpu.values()):8.1f} {sum(wall.values()):8.1f}  total ({len(rows)} files)")
    return "\n".join(text)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1])))
