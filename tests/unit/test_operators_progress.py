"""Progress lines: steady interval, rate, ETA and the summary."""

from __future__ import annotations

import logging

import pytest

from fincome_airflow.load.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_logs_at_a_steady_interval_with_rate_and_eta(caplog):
    clock = Clock()
    progress = Progress("invoices", 1000, log=logging.getLogger("t"), interval=10, clock=clock)

    with caplog.at_level(logging.INFO, logger="t"):
        for _ in range(1000):
            clock.now += 0.0625  # 16 records per second, exact in binary
            progress.advance()

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 6  # every 10 s over 62.5 s
    assert lines[0] == "invoices: 160/1000 (16.0%), 16.0/s, ETA 52s"
    assert lines[-1] == "invoices: 960/1000 (96.0%), 16.0/s, ETA 2s"


def test_progress_every_n_records():
    clock = Clock()
    log = logging.getLogger("t2")
    progress = Progress("c", 10, log=log, interval=1e9, every=5, clock=clock)
    for _ in range(10):
        progress.advance()

    assert progress.line().startswith("c: 10/10")


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        pytest.param(65, "1m05s", id="minutes"),
        pytest.param(3 * 3600 + 120, "3h02m", id="hours"),
    ],
)
def test_progress_summary_is_readable(caplog, elapsed, expected):
    clock = Clock()
    progress = Progress("customers", 3, log=logging.getLogger("t3"), clock=clock)
    clock.now = elapsed

    line = progress.summary({"created": 2, "rejected": 1})

    assert line == f"customers: finished in {expected}; created 2, rejected 1"


def test_progress_eta_unknown_before_anything_is_done():
    progress = Progress("x", 5, log=logging.getLogger("t4"), clock=Clock())

    assert progress.line() == "x: 0/5 (0.0%), 0.0/s, ETA unknown"
