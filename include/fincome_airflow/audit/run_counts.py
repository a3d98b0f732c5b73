"""Per-run figures read back from the state database (exact across task retries, unlike XComs)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Join, Table, and_, case, cast, func, select

from fincome_airflow.state import schema
from fincome_airflow.state.store import StateStore

#: Outcomes that mean Fincome holds the record as sent.
LOADED = ("created", "updated")


def _counts_by(store: StateStore, table: Table, run_key: str, column: str) -> dict:
    """``{resource: {value of column: n}}`` over one run's rows of ``table``."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    query = (
        select(table.c.resource, table.c[column], func.count())
        .where(table.c.run_key == run_key)
        .group_by(table.c.resource, table.c[column])
    )
    with store.begin() as conn:
        for resource, value, n in conn.execute(query):
            counts[resource][value] = int(n)
    return dict(counts)


def outcome_counts(store: StateStore, run_key: str) -> dict[str, dict[str, int]]:
    """``{resource: {outcome: n}}`` of the records this run sent (last outcome per record)."""
    return _counts_by(store, schema.outcomes, run_key, "outcome")


def staged_counts(store: StateStore, run_key: str) -> dict[str, dict[str, int]]:
    """``{resource: {action: n}}`` of the records this run staged."""
    return _counts_by(store, schema.staged, run_key, "action")


def staged_with_outcomes() -> Join:
    """Staged records joined with the outcome of their send: one row per record a run sent."""
    st, out = schema.staged, schema.outcomes
    return st.join(
        out,
        and_(
            out.c.run_key == st.c.run_key,
            out.c.resource == st.c.resource,
            out.c.record_id == st.c.record_id,
        ),
    )


def loaded_net_by_currency(store: StateStore, run_key: str) -> dict[str, str]:
    """Net amount of the invoices this run created or updated in Fincome, per currency."""
    st, out = schema.staged, schema.outcomes
    query = (
        select(st.c.currency, func.sum(st.c.net_amount))
        .select_from(staged_with_outcomes())
        .where(
            st.c.run_key == run_key,
            st.c.resource == "invoices",
            st.c.action == "upsert",
            out.c.outcome.in_(LOADED),
        )
        .group_by(st.c.currency)
    )
    totals: dict[str, Any] = {}
    with store.begin() as conn:
        for currency, total in conn.execute(query):
            if currency:
                totals[currency] = format(Decimal(str(total or 0)).quantize(Decimal("0.01")), "f")
    return dict(sorted(totals.items()))


def _issue_month(dialect: str) -> Any:
    """SQL for the ``YYYY-MM`` of a staged record's ``issue_date`` (read from its payload)."""
    payload = schema.staged.c.payload
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return func.substr(cast(payload, JSONB)["issue_date"].astext, 1, 7)
    return func.substr(func.json_extract(payload, "$.issue_date"), 1, 7)


def by_issue_month(store: StateStore, run_key: str, resource: str) -> dict[str, dict[str, Any]]:
    """The records of a dated resource (invoices, credit notes) a run staged to send, per issue
    month: how many, and their net amount per currency, that this run loaded (``loaded``) or
    that Fincome already held as staged (``in_fincome``: unchanged since Fincome confirmed them).

    ``{"2026-10": {"loaded": 3, "loaded_net": {"CHF": "10.00"}, "in_fincome": 5, ...}}``
    """
    st, out, led = schema.staged, schema.outcomes, schema.ledger
    loaded = out.c.outcome.in_(LOADED)
    held = and_(
        out.c.outcome.is_(None),
        led.c.payload_hash == st.c.payload_hash,
        led.c.deleted.is_(False),
    )
    kind = case((loaded, "loaded"), (held, "in_fincome"), else_="other")
    month = _issue_month(store.engine.dialect.name).label("month")
    query = (
        select(month, kind.label("kind"), st.c.currency, func.count(), func.sum(st.c.net_amount))
        .select_from(
            st.outerjoin(
                out,
                and_(
                    out.c.run_key == st.c.run_key,
                    out.c.resource == st.c.resource,
                    out.c.record_id == st.c.record_id,
                ),
            ).outerjoin(
                led, and_(led.c.resource == st.c.resource, led.c.record_id == st.c.record_id)
            )
        )
        .where(st.c.run_key == run_key, st.c.resource == resource, st.c.action == "upsert")
        .group_by(month, kind, st.c.currency)
    )
    months: dict[str, dict[str, Any]] = {}
    with store.begin() as conn:
        for issue_month, what, currency, n, total in conn.execute(query):
            if what == "other":
                continue
            entry = months.setdefault(
                issue_month or "unknown",
                {"loaded": 0, "loaded_net": {}, "in_fincome": 0, "in_fincome_net": {}},
            )
            entry[what] += int(n)
            if currency:
                amount = Decimal(str(total or 0)).quantize(Decimal("0.01"))
                net = entry[f"{what}_net"]
                net[currency] = format(Decimal(net.get(currency, "0")) + amount, "f")
    return dict(sorted(months.items()))
