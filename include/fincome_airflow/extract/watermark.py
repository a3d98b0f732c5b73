"""The change watermark, made safe against changes that commit late.

A load reads every ERP record with ``updated_at > watermark``. A change stamped before its
transaction commits (PostgreSQL's ``now()`` is the transaction's start; application code stamps
before it commits) can become visible only after a load whose watermark already passed its
stamp: read as ``> watermark`` it would never be sent. Two guards close that gap:

* **the horizon** (PostgreSQL ERPs): just before its snapshot, the extraction reads the start of
  the oldest transaction in progress in the ERP database; the run's watermark is capped there,
  since every change its snapshot could not see is stamped at or after that instant. This holds
  whatever the length of the transaction, provided ``updated_at`` comes from the database's
  clock at or after the start of the transaction that writes it.
* **the overlap** (every ERP): the query re-reads ``overlap`` behind the watermark
  (``FINCOME_WATERMARK_OVERLAP``, default 2 hours), for ERPs without a horizon and for stamps
  taken from another clock. Re-read records whose payload is unchanged cost no API call: the
  ledger sends only what differs from what Fincome confirmed.

Settings, from the environment of the workers: ``FINCOME_WATERMARK_OVERLAP`` (``2h``, ``30m``,
``0`` to switch it off) and ``FINCOME_WATERMARK_HORIZON`` (``auto``: on PostgreSQL ERPs, or
``off``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from fincome_airflow.deadline import parse_interval

log = logging.getLogger(__name__)

ENV_OVERLAP: Final = "FINCOME_WATERMARK_OVERLAP"
ENV_HORIZON: Final = "FINCOME_WATERMARK_HORIZON"
DEFAULT_OVERLAP: Final = dt.timedelta(hours=2)
HORIZON_MODES: Final = ("auto", "off")

#: How the run's watermark was protected: ``horizon`` (capped at the oldest open ERP
#: transaction), ``overlap`` (only the overlap: no horizon on this ERP, switched off, or hidden).
Guard = Literal["horizon", "overlap"]

#: Just before the oldest transaction in progress in the ERP database (a change it stamps
#: with its start must still read as ``> watermark``), and the database's clock; ``hidden``
#: counts sessions whose details this role may not see (their ``backend_type`` reads null;
#: ``pg_read_all_stats`` shows them). Timestamps are in the session's time zone, as
#: ``updated_at`` (``timestamp without time zone``) is written.
_HORIZON_SQL: Final = text(
    """
    SELECT
      LOCALTIMESTAMP AS read_at,
      MIN(a.xact_start)::timestamp - interval '1 microsecond' AS oldest_open,
      COUNT(*) FILTER (WHERE a.backend_type IS NULL) AS hidden
    FROM pg_stat_activity AS a
    WHERE a.datname = current_database()
      AND (a.backend_type = 'client backend' OR a.backend_type IS NULL)
      AND a.pid <> pg_backend_pid()
    """
)


@dataclass(frozen=True)
class WatermarkSettings:
    """How far behind the watermark a load re-reads, and whether it caps at the horizon."""

    overlap: dt.timedelta = DEFAULT_OVERLAP
    horizon: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WatermarkSettings:
        env = os.environ if environ is None else environ
        overlap = env.get(ENV_OVERLAP, "").strip()
        mode = (env.get(ENV_HORIZON) or "auto").strip().lower()
        if mode not in HORIZON_MODES:
            raise ValueError(f"{ENV_HORIZON} must be one of {HORIZON_MODES}, got {mode!r}")
        return cls(
            overlap=parse_interval(overlap, what=ENV_OVERLAP, allow_zero=True)
            if overlap
            else DEFAULT_OVERLAP,
            horizon=mode == "auto",
        )


@dataclass(frozen=True)
class Horizon:
    """An instant before which no change can still commit unseen (``None``: not known)."""

    at: dt.datetime | None
    guard: Guard
    why: str = ""


def read_horizon(conn: Connection, settings: WatermarkSettings) -> Horizon:
    """Read the horizon on ``conn`` in a transaction of its own, ended before returning.

    Call it before the extraction's snapshot: a transaction that commits between this read and
    the snapshot was open here, so it holds the horizon back rather than slipping past it.
    """
    if not settings.horizon:
        return Horizon(None, "overlap", f"{ENV_HORIZON}=off")
    if conn.dialect.name != "postgresql":
        return Horizon(None, "overlap", f"no horizon on {conn.dialect.name}")
    try:
        row = conn.execute(_HORIZON_SQL).one()
    finally:
        conn.rollback()
    if row.hidden:
        why = (
            f"{row.hidden} ERP session(s) hidden from this role: grant it pg_read_all_stats "
            "for the horizon"
        )
        log.warning("Watermark horizon unavailable (%s); the overlap alone protects it", why)
        return Horizon(None, "overlap", why)
    oldest = row.oldest_open
    at = row.read_at if oldest is None else min(oldest, row.read_at)
    return Horizon(at, "horizon")
