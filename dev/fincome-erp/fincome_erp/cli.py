"""Command line: ``python -m fincome_erp generate|demo`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from fincome_airflow.engines import erp_engine
from fincome_erp.config import (
    DEFAULT_DIRTY_SHARE,
    DEFAULT_EDGE_SHARE,
    DEFAULT_SEED,
    GeneratorConfig,
)
from fincome_erp.database import ensure_database, resolve_url
from fincome_erp.manifest import Manifest
from fincome_erp.months import Month
from fincome_erp.populate import ErpNotEmptyError, populate
from fincome_erp.presets import DEMO


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fincome_erp", description="Fill the reference ERP with demo data."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="generate a configurable data set")
    demo = commands.add_parser("demo", help="write the small fixed demo set (replaces the ERP)")
    for sub, target in ((generate, "postgresql"), (demo, "sqlite")):
        sub.add_argument("--target", choices=("postgresql", "sqlite"), default=target,
                         help=f"backend of the default URL (default {target}): PostgreSQL "
                         "$FINCOME_ERP_URL or the local fincome_erp database (created if "
                         "missing), SQLite .airflow/erp.sqlite")  # fmt: skip
        sub.add_argument("--url", help="SQLAlchemy URL of the ERP database (wins over --target)")
        sub.add_argument("--manifest", help="write the manifest (JSON) to this path")
        sub.add_argument("--timed", action="store_true", help="print rows written and wall time")
    months = generate.add_mutually_exclusive_group()
    months.add_argument("--months", help="one month YYYY-MM, or consecutive ones comma-separated")
    months.add_argument("--from", dest="first", help="first month YYYY-MM (with --to)")
    generate.add_argument("--to", dest="last", help="last month YYYY-MM")
    size = generate.add_mutually_exclusive_group()
    size.add_argument("--invoices-per-month", type=int, help="invoices in each month (1000)")
    size.add_argument("--invoices", type=int, help="invoices in all, spread over the months")
    generate.add_argument("--dirty-share", type=float, default=DEFAULT_DIRTY_SHARE,
                          help="share of customers, contracts and invoices carrying one defect "
                          f"(default {DEFAULT_DIRTY_SHARE})")  # fmt: skip
    generate.add_argument("--edge-share", type=float, default=DEFAULT_EDGE_SHARE,
                          help="share of hostile-but-valid names and descriptions "
                          f"(default {DEFAULT_EDGE_SHARE})")  # fmt: skip
    generate.add_argument("--seed", type=int, default=DEFAULT_SEED,
                          help=f"equal seeds, equal rows (default {DEFAULT_SEED})")  # fmt: skip
    generate.add_argument("--replace", action="store_true", help="empty the ERP tables first")
    return parser


def _config(args: argparse.Namespace) -> GeneratorConfig:
    if args.months:
        months = [Month.parse(text) for text in args.months.split(",")]
        first, last = min(months), max(months)
    elif args.first or args.last:
        if not (args.first and args.last):
            raise ValueError("--from and --to go together")
        first, last = Month.parse(args.first), Month.parse(args.last)
    else:
        first = last = None
    config = GeneratorConfig.build(
        first,
        last,
        invoices_per_month=args.invoices_per_month,
        invoices=args.invoices,
        dirty_share=args.dirty_share,
        edge_share=args.edge_share,
        seed=args.seed,
    )
    if args.months and len(config.months) != len(months):
        raise ValueError("--months must list consecutive months")
    return config


def _report(manifest: Manifest, seconds: float, timed: bool) -> str:
    rows = manifest.rows
    total = sum(rows.values())
    parts = ", ".join(f"{table} {count:,}" for table, count in rows.items())
    dirty = sum(len(entries) for entries in manifest.dirty.values())
    line = f"wrote {total:,} rows ({parts}); {dirty:,} dirty records"
    if timed:
        line += f" in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f} rows/s)"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = DEMO if args.command == "demo" else _config(args)
    except ValueError as exc:
        parser.error(str(exc))
    url = resolve_url(args.target, args.url)
    ensure_database(url)
    engine = erp_engine(url)
    started = time.perf_counter()
    try:
        manifest = populate(engine, config, replace=args.command == "demo" or args.replace)
    except ErpNotEmptyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    print(f"{url.render_as_string(hide_password=True)}: {_report(manifest, seconds, args.timed)}")
    if args.manifest:
        print(f"manifest: {manifest.write(args.manifest)}")
    return 0
