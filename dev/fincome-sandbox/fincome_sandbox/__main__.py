"""Command line: ``python -m fincome_sandbox --port PORT --api-key KEY [fault options]``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from fincome_sandbox.config import DEFAULT_STALL_SECONDS, FaultOptions

#: The environment variable read when ``--api-key`` is not given (keeps it out of ``ps``).
API_KEY_ENV = "FINCOME_SANDBOX_API_KEY"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fincome_sandbox", description="Serve a local Fincome API sandbox."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api-key", help=f"the accepted key (default: ${API_KEY_ENV})")
    parser.add_argument("--db", help="SQLite file that keeps the records across restarts")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share answered 5xx")
    parser.add_argument("--rate-limit", type=float, help="requests per second, then 429")
    parser.add_argument("--reset-rate", type=float, default=0.0, help="share of dropped sockets")
    parser.add_argument("--stall-rate", type=float, default=0.0, help="share of hung requests")
    parser.add_argument("--stall-seconds", type=float, default=DEFAULT_STALL_SECONDS)
    parser.add_argument(
        "--throttle-rate", type=float, default=0.0, help="share answered 429 with Retry-After"
    )
    parser.add_argument("--throttle-retry-after", type=int, default=1, help="its Retry-After")
    parser.add_argument("--seed", type=int, help="seed of the fault draws")
    parser.add_argument(
        "--require-plans", action="store_true", help="a subscription's plan_id must be a plan"
    )
    parser.add_argument("--log-level", default="warning")
    parser.add_argument(
        "--write-openapi", metavar="PATH", help="write the OpenAPI document to PATH and exit"
    )
    return parser


def write_openapi(path: str) -> None:
    """Write the served OpenAPI document to ``path`` (the committed copy is regenerated so)."""
    from fincome_sandbox.main import openapi_document

    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until interrupted."""
    args = _parser().parse_args(argv)
    if args.write_openapi:
        write_openapi(args.write_openapi)
        return 0
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not api_key:
        print(f"--api-key or ${API_KEY_ENV} is required", file=sys.stderr)
        return 2
    options = FaultOptions(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        rate_limit=args.rate_limit,
        reset_rate=args.reset_rate,
        stall_rate=args.stall_rate,
        stall_seconds=args.stall_seconds,
        throttle_rate=args.throttle_rate,
        throttle_retry_after=args.throttle_retry_after,
        seed=args.seed,
        require_plans=args.require_plans,
    )
    import uvicorn

    from fincome_sandbox.main import create_app

    logging.basicConfig(level=args.log_level.upper())
    uvicorn.run(
        create_app(api_key, options, args.db),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
        backlog=1024,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
