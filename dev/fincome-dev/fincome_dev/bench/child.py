"""One benchmark stage in its own process, as an Airflow task runs: ``python -m
fincome_dev.bench.child STAGE JSON``.

The last line of stdout is a JSON object: the stage's figures plus ``max_rss_mb``, the peak
resident set of this process (``VmHWM``), and ``seconds``, the time of the stage's work
(imports and process start excluded, as a worker has them loaded already).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from fincome_airflow.contract import RESOURCES


def _extract(args: dict[str, Any]) -> dict[str, Any]:
    from fincome_airflow.engines import erp_engine
    from fincome_airflow.stage.stage_month import extract_and_stage
    from fincome_airflow.state.store import StateStore

    erp = erp_engine(args["erp_url"])
    store = StateStore.from_url(args["state_url"])
    store.ensure_schema()
    now = dt.datetime.fromisoformat(args["now"])
    cpu, started = _cpu_seconds(), time.perf_counter()
    kind = args.get("kind", "monthly")
    report = extract_and_stage(erp, store, args["run_key"], args["month"], now=now, kind=kind)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    # the run ends ``done`` as the DAG's audit would, so that a rerun sees its watermark
    store.set_run_status(args["run_key"], "done")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "counts": report.to_dict().get("counts"),
        "pending_reextracted": report.pending_reextracted,
    }


def _cpu_seconds() -> float:
    """This process's CPU time, user and system: the extract's own work, whatever the load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _copy(args: dict[str, Any]) -> dict[str, Any]:
    """A bare ``COPY (query) TO STDOUT`` of the three extraction queries, output discarded."""
    from fincome_airflow.engines import erp_engine
    from fincome_airflow.extract.queries import driver_query
    from fincome_airflow.extract.scope import LoadScope
    from fincome_airflow.month import BillingMonth

    billing = BillingMonth.parse(args["month"])
    scope = LoadScope.for_month(billing.start, billing.end, None)
    engine = erp_engine(args["erp_url"])
    sink = _Sink()
    started = time.perf_counter()
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for name in RESOURCES:
            # the query as the extraction runs it (extract/ahead.py)
            query = driver_query(name, scope.params_for(name), conn.dialect)
            with raw.cursor() as cursor:
                text = cursor.mogrify(query.sql, query.params).decode()
                cursor.copy_expert(f"COPY ({text}) TO STDOUT", sink)
    return {"seconds": time.perf_counter() - started, "rows": sink.lines, "bytes": sink.size}


class _Sink:
    """A file-like object that counts what COPY writes and keeps nothing."""

    def __init__(self) -> None:
        self.size = 0
        self.lines = 0

    def write(self, data: str | bytes) -> int:
        self.size += len(data)
        self.lines += data.count("\n" if isinstance(data, str) else b"\n")
        return len(data)


def _load(args: dict[str, Any]) -> dict[str, Any]:
    """``load_resource`` of each asked resource, in order, through the ``fincome_api`` hook."""
    from fincome_airflow.hooks.fincome import FincomeHook
    from fincome_airflow.load.send_loops import load_resource
    from fincome_airflow.state.ledger import Ledger
    from fincome_airflow.state.store import StateStore

    store = StateStore.from_url(args["state_url"])
    store.ensure_schema()
    hook = FincomeHook("fincome_api")
    hook.get_conn()
    log = logging.getLogger("fincome.bench.load")
    audits = []
    started = time.perf_counter()
    for name in args["resources"]:
        ledger = Ledger(store, args["run_key"], name)
        audits.append(
            load_resource(
                hook,
                ledger,
                log=log,
                full_resync=bool(args.get("full_resync")),
                fail_on_failed=False,
            )
        )
    seconds = time.perf_counter() - started
    totals = {
        k: sum(int(a.get(k, 0)) for a in audits)
        for k in ("to_send", "created", "updated", "rejected", "failed", "requests", "unchanged")
    }
    totals["rate_limited"] = sum(int(a.get("rate_limited", 0)) for a in audits)
    return {"seconds": seconds, **totals, "audits": audits}


def _count_staged(args: dict[str, Any]) -> dict[str, Any]:
    from fincome_airflow.engines import make_engine

    engine = make_engine(args["state_url"])
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM fincome_staged WHERE run_key = :k"), {"k": args["run_key"]}
        ).scalar()
    return {"seconds": 0.0, "staged": int(n or 0)}


STAGES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "extract": _extract,
    "copy": _copy,
    "load": _load,
    "count": _count_staged,
}


def peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``): ``ru_maxrss`` would not do, Linux carries
    it over ``exec`` from the forking parent, so a child would report the bench's own peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    stage, args = argv[0], json.loads(argv[1])
    result = STAGES[stage](args)
    result["max_rss_mb"] = peak_rss_mb()
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
