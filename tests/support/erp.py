"""Reference ERPs to load from: the demo set, or a generated month (``fincome_erp``, in-process)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fincome_erp.cli import main as erp_main
from fincome_erp.config import GeneratorConfig
from fincome_erp.generator import generate

#: The month the generated ERPs hold by default.
MONTH = "2026-10"


def fill_demo_erp(url: str) -> dict[str, Any]:
    """Write the demo set into the ERP at ``url`` (SQLite or PostgreSQL); return its manifest."""
    from fincome_airflow.engines import erp_engine
    from fincome_erp import populate
    from fincome_erp.presets import DEMO

    engine = erp_engine(url)
    try:
        return populate(engine, DEMO, replace=True).to_dict()
    finally:
        engine.dispose()


def generated_erp(
    url: str,
    *,
    invoices: int,
    dirty_share: float = 0.05,
    seed: int = 7,
    manifest: Path | None = None,
    month: str = MONTH,
) -> str:
    """Write one month (default 2026-10) of ``invoices`` invoices into ``url``; return ``url``."""
    argv = ["generate", "--url", url, "--months", month, "--invoices-per-month", str(invoices)]
    argv += ["--dirty-share", str(dirty_share), "--seed", str(seed), "--replace"]
    if manifest is not None:
        argv += ["--manifest", str(manifest)]
    assert erp_main(argv) == 0
    return url


def sqlite_erp(folder: Path, **options: object) -> str:
    return generated_erp(f"sqlite:///{folder / 'erp.sqlite'}", **options)  # type: ignore[arg-type]


def collect(config: GeneratorConfig) -> tuple[dict[str, list[tuple]], Any]:
    """Every row the generator writes for ``config``, by table, and its manifest."""
    rows: dict[str, list[tuple]] = defaultdict(list)
    manifest = generate(config, lambda table, row: rows[table].append(row))
    return rows, manifest


def by_id(rows: Iterable[tuple]) -> dict[Any, tuple]:
    """Rows keyed by their first column."""
    return {row[0]: row for row in rows}
