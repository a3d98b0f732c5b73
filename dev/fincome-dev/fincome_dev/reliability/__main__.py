"""``python -m fincome_dev.reliability [--run] [--results DIR]``: print the reliability table.

Without ``--run`` the table is read from the results the reliability tests wrote last;
``--run`` runs them first (``pytest tests/reliability``, about five minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from fincome_dev.reliability.results import ENV_RESULTS, read_results, results_dir
from fincome_dev.reliability.table import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fincome_dev.reliability", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--run", action="store_true", help="run the reliability tests first")
    parser.add_argument("--results", help=f"results folder (default ${ENV_RESULTS} or build/...)")
    args = parser.parse_args(argv)
    folder = results_dir(args.results).resolve()
    code = 0
    if args.run:
        tests = Path.cwd() / "tests" / "reliability"
        env = {**os.environ, ENV_RESULTS: str(folder)}
        command = [sys.executable, "-m", "pytest", "-q", str(tests)]
        code = subprocess.run(command, env=env, check=False).returncode
    print(render(read_results(folder)))
    return code


if __name__ == "__main__":
    sys.exit(main())
