"""The kinds of run (``fincome_runs.kind``); cheap to import at DAG parse time."""

from __future__ import annotations

from typing import Final

#: A run of the monthly load: the close of a month, with the change watermark of its own.
KIND_MONTHLY: Final = "monthly"
#: A run of the intraday sync: what changed since the last confirmed change, any month.
KIND_INTRADAY: Final = "intraday"
RUN_KINDS: Final = (KIND_MONTHLY, KIND_INTRADAY)
