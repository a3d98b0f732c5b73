"""Refused records, each distinct refusal stored once.

A record the ERP never fixes stays pending and every later run refuses it again, word for word.
Stored in full per run, those refusals grew the state database with runs times pending records
(812,025 rows, 265 MB after a year of monthly closes in the ``state_growth`` bench). So each
distinct refusal (record, reason, field, message, blocker) is one row of
``fincome_reject_details`` keyed by its SHA-256, a run's refusals are the details' ids, one JSON
array per run and write batch in ``fincome_run_rejects`` (a few bytes per refusal), and the view
``fincome_rejects`` joins them back into one row per run and refusal for every reader. Removing
a run's lists leaves details nobody refers to: :func:`remove_unreferenced` takes them away.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.engine import Connection

from fincome_airflow.state import schema
from fincome_airflow.state.upsert import upsert

#: The columns of a refusal that make it distinct (``fincome_reject_details`` less its keys).
DETAIL_COLUMNS: Final = (
    "resource",
    "record_id",
    "seq",
    "outcome",
    "reason_code",
    "field",
    "message",
    "blocked_by",
)
#: Digests per ``IN`` list when reading back the details' ids.
DIGEST_CHUNK: Final = 900
#: The view ``fincome_rejects`` per dialect (made by migration 0003): one row per run and
#: refusal, the refusal's id as ``detail_id``.
CREATE_VIEW: Final = {
    "postgresql": (
        "CREATE VIEW fincome_rejects AS SELECT l.run_key, d.id AS detail_id, d.resource, "
        "d.record_id, d.seq, d.outcome, "
        "d.reason_code, d.field, d.message, d.blocked_by FROM fincome_run_rejects l "
        "CROSS JOIN LATERAL json_array_elements_text(CAST(l.detail_ids AS json)) AS u(id) "
        "JOIN fincome_reject_details d ON d.id = CAST(u.id AS integer)"
    ),
    "sqlite": (
        "CREATE VIEW fincome_rejects AS SELECT l.run_key, d.id AS detail_id, d.resource, "
        "d.record_id, d.seq, d.outcome, "
        "d.reason_code, d.field, d.message, d.blocked_by FROM fincome_run_rejects l "
        "JOIN json_each(l.detail_ids) AS u JOIN fincome_reject_details d ON d.id = u.value"
    ),
}
#: Stands for NULL in the digested text, so that NULL and "" differ.
_NULL: Final = "\x00"


def digest(row: Mapping[str, Any]) -> str:
    """The SHA-256 of a refusal's :data:`DETAIL_COLUMNS`, as hex."""
    text = "\x1f".join(_NULL if row.get(c) is None else str(row[c]) for c in DETAIL_COLUMNS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_rejects(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Store refusals (each row a run's: ``run_key`` and :data:`DETAIL_COLUMNS`); return rows.

    A refusal already stored by an earlier run is linked, not written again.
    """
    by_run: dict[str, dict[str, None]] = {}
    details: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = digest(row)
        details.setdefault(key, {"digest": key, **{c: row.get(c) for c in DETAIL_COLUMNS}})
        by_run.setdefault(row["run_key"], {})[key] = None
    if not details:
        return 0
    upsert(conn, schema.reject_details, list(details.values()), ["digest"], replace=False)
    ids = _detail_ids(conn, list(details))
    links = schema.run_rejects
    for run_key, keys in by_run.items():
        last = select(func.max(links.c.batch)).where(links.c.run_key == run_key)
        batch = (conn.execute(last).scalar() or 0) + 1
        listed = json.dumps([ids[key] for key in keys], separators=(",", ":"))
        conn.execute(insert(links), {"run_key": run_key, "batch": batch, "detail_ids": listed})
    return sum(len(keys) for keys in by_run.values())


def _detail_ids(conn: Connection, digests: Sequence[str]) -> dict[str, int]:
    d = schema.reject_details
    out: dict[str, int] = {}
    for i in range(0, len(digests), DIGEST_CHUNK):
        part = digests[i : i + DIGEST_CHUNK]
        out.update(conn.execute(select(d.c.digest, d.c.id).where(d.c.digest.in_(part))).all())
    return out


def remove_unreferenced(conn: Connection, limit: int) -> int:
    """Delete up to ``limit`` refusals no run refers to any more; return how many."""
    d, listed = schema.reject_details, schema.rejects
    orphans = select(d.c.id).where(~exists().where(listed.c.detail_id == d.c.id)).limit(limit)
    return conn.execute(delete(d).where(d.c.id.in_(orphans))).rowcount
