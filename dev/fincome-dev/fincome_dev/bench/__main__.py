"""``python -m fincome_dev.bench [--invoices N | --smoke]``: see the package docstring."""

from __future__ import annotations

import logging
import signal
import sys

from fincome_dev.bench.config import parse
from fincome_dev.bench.runner import main

if __name__ == "__main__":
    # SIGTERM ends the run through its ``finally`` blocks: sandbox stopped, databases dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    main(parse(sys.argv[1:]))
