"""The smoke pass's settings: tiny sizes, every line kept, no unmeasured DAG-parse probe; a full
run keeps every setting the README's figures were measured with."""

from __future__ import annotations

from fincome_dev.bench import dagparse
from fincome_dev.bench.config import BenchConfig, parse


def test_the_smoke_pass_goes_without_the_warm_up_probe_and_a_full_run_keeps_it():
    smoke, full = parse(["--smoke"]), parse(["--invoices", "3000"])
    assert smoke.smoke and not smoke.dag_parse_warm and smoke.dag_parse_runs == 1
    assert not full.smoke and full.dag_parse_warm and full.dag_parse_runs == 7
    assert full == BenchConfig(invoices=3000, out=full.out)


def test_dag_parse_probes_fresh_processes_with_one_warm_up_unless_told_not_to(monkeypatch):
    calls: list[str] = []

    def probe(mode: str, env: dict[str, str]) -> list[float]:
        calls.append(mode)
        return [1.0, 0.05 if mode == "dag" else 0.0]

    monkeypatch.setattr(dagparse, "_probe", probe)
    warm = dagparse.measure(2)
    assert calls == ["dag", "airflow", "dag", "airflow", "dag"]
    calls.clear()
    cold = dagparse.measure(1, warm=False)
    assert calls == ["airflow", "dag"]
    assert warm["dag_added_s"] == cold["dag_added_s"] == 0.05
    assert warm["runs"] == 2 and cold["runs"] == 1
