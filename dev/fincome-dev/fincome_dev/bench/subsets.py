"""Subsets of a staged run, for the load stages (PostgreSQL state database).

A load subset is a run of its own in ``fincome_staged``: the first invoices of the source run
(by id), the subscriptions they reference and the customers those reference (with their
hierarchy parents), so that every record the sandbox receives has its references loaded first.
"""

# ruff: noqa: S608 - the SQL is assembled from constants, every value is a bound parameter
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

_COLUMNS = "run_key, resource, record_id, action, payload, payload_hash, currency, net_amount"
_SELECT = (
    "SELECT :dst, resource, record_id, action, payload, payload_hash, currency, net_amount "
    "FROM fincome_staged"
)
_INVOICES = f"""
INSERT INTO fincome_staged ({_COLUMNS})
{_SELECT} WHERE run_key = :src AND resource = 'invoices' AND action = 'upsert'
ORDER BY record_id LIMIT :invoices
"""
_BY_IDS = f"""
INSERT INTO fincome_staged ({_COLUMNS})
{_SELECT} WHERE run_key = :src AND resource = :resource AND action = 'upsert'
AND record_id = ANY(:ids)
"""
_PAYLOADS = """
SELECT payload FROM fincome_staged WHERE run_key = :dst AND resource = :resource
"""
_SAME_IDS = f"""
INSERT INTO fincome_staged ({_COLUMNS})
{_SELECT} AS s WHERE s.run_key = :src AND EXISTS (
  SELECT 1 FROM fincome_staged AS t
  WHERE t.run_key = :like AND t.resource = s.resource AND t.record_id = s.record_id)
"""
_SHARE = f"""
INSERT INTO fincome_staged ({_COLUMNS})
SELECT :dst, resource, record_id, action, payload, payload_hash, currency, net_amount
FROM (
  SELECT *, row_number() OVER (ORDER BY record_id) AS n FROM fincome_staged
  WHERE run_key = :src AND resource = 'invoices'
) AS q WHERE n % :shares = :share AND n <= :limit
"""


def _counts(engine: Engine, run_key: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT resource, count(*) FROM fincome_staged WHERE run_key = :k GROUP BY resource"
            ),
            {"k": run_key},
        )
        return {str(r[0]): int(r[1]) for r in rows}


def _runs_row(engine: Engine, run_key: str, month: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fincome_runs (run_key, month, status, dry_run, created_at) "
                "VALUES (:k, :m, 'loading', false, now()) ON CONFLICT (run_key) DO NOTHING"
            ),
            {"k": run_key, "m": month},
        )


def _referenced(conn: Connection, dst: str, resources: tuple[str, ...], key: str) -> list[str]:
    ids: set[str] = set()
    for resource in resources:
        for (payload,) in conn.execute(text(_PAYLOADS), {"dst": dst, "resource": resource}):
            value = json.loads(payload).get(key)
            if value is not None:
                ids.add(str(value))
    return sorted(ids)


def load_subset(engine: Engine, src: str, dst: str, invoices: int, month: str) -> dict[str, int]:
    """Stage run ``dst`` with ``invoices`` invoices of run ``src`` and their references.

    The referenced ids are read in Python and bound as arrays: a correlated ``IN (SELECT
    payload::jsonb ...)`` over freshly staged rows (no statistics yet) plans badly.
    """
    _runs_row(engine, dst, month)
    with engine.begin() as conn:
        conn.execute(text(_INVOICES), {"src": src, "dst": dst, "invoices": invoices})
        steps = (
            ("subscriptions", ("invoices",), "subscription_id"),
            ("customers", ("invoices", "subscriptions"), "customer_id"),
            ("customers", ("customers",), "root_parent_id"),
        )
        for resource, sources, key in steps:
            ids = _referenced(conn, dst, sources, key)
            if resource == "customers":
                have = conn.execute(
                    text(
                        "SELECT record_id FROM fincome_staged WHERE run_key = :k "
                        "AND resource = 'customers'"
                    ),
                    {"k": dst},
                ).scalars()
                ids = sorted(set(ids) - set(have))
            params = {"src": src, "dst": dst, "resource": resource, "ids": ids}
            conn.execute(text(_BY_IDS), params)
    return _counts(engine, dst)


def same_ids(engine: Engine, src: str, dst: str, like: str, month: str) -> dict[str, int]:
    """Stage run ``dst`` with the records of run ``src`` whose ids are those of run ``like``."""
    _runs_row(engine, dst, month)
    with engine.begin() as conn:
        conn.execute(text(_SAME_IDS), {"src": src, "dst": dst, "like": like})
    return _counts(engine, dst)


def invoice_share(
    engine: Engine, src: str, dst: str, share: int, shares: int, month: str, limit: int
) -> dict[str, int]:
    """Stage run ``dst`` with every ``shares``-th of the first ``limit`` invoices of ``src``."""
    _runs_row(engine, dst, month)
    params = {"src": src, "dst": dst, "share": share, "shares": shares, "limit": limit}
    with engine.begin() as conn:
        conn.execute(text(_SHARE), params)
    return _counts(engine, dst)
