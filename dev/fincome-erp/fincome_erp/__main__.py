"""``python -m fincome_erp``: see :mod:`fincome_erp.cli`."""

from __future__ import annotations

import sys

from fincome_erp.cli import main

sys.exit(main())
