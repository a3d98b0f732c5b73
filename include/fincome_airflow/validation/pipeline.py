"""Validation of a streamed load, resource by resource, in load order.

Each record is mapped (``transform.mapping``), which applies every rule of the contract models
to its ERP column (``models.rules``), then checked by the rules across records: duplicate ids,
references resolvable in the load or in the ledger, invoice and contract of the same customer
and currency, and blocking: a record whose parent was refused is ``blocked`` and names it.
Memory holds the ids of refused records and a few records awaiting a ledger look-up, never the
whole load.

The contract models' own validation of each mapped payload (``model_gate``) would refuse
nothing the mapping accepted (``tests/integration/test_model_gate_equivalence.py`` runs both
over the defect corpus and a generated dirty month; ``tests/unit/test_mapping_properties.py``
over generated valid rows), and it cost 13% of the extraction: it runs only when asked
(``model_gate=True``).

A record of the exact types PostgreSQL gives and without defect is mapped by the fast lane
(``transform.fast``: the same rules, without naming defects); any other record by the reference
mapping, which names them. ``fast_lane=False`` maps every record with the reference.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import groupby
from operator import attrgetter
from typing import Any, Final

from fincome_airflow.contract import Resource
from fincome_airflow.month import day_of, month_of
from fincome_airflow.reasons import CLOCK, Problem, blocked, problem
from fincome_airflow.transform.fast import fast_customer, fast_invoice, fast_subscription
from fincome_airflow.transform.mapping import Mapped, map_customer, map_invoice, map_subscription
from fincome_airflow.validation import model_gate
from fincome_airflow.validation.decisions import Decision
from fincome_airflow.validation.hierarchy import resolve_hierarchy

log = logging.getLogger(__name__)

#: ``ledger_lookup(resource, ids)`` -> the ids Fincome confirmed (and not deleted).
LedgerLookup = Callable[[Resource, Sequence[str]], set[str]]
#: Records awaiting a ledger look-up are resolved in batches of this size.
LOOKUP_BATCH: Final = 1000


def _safe(fn: Callable[..., Mapped], record_id: Any, *args: Any) -> Mapped:
    """Never crash on bad data: an unexpected error is a reject of that record."""
    try:
        return fn(*args)
    except Exception as exc:
        log.warning("Unexpected error mapping %s: %r", record_id, exc)
        out = Mapped(str(record_id))
        out.problems.append(problem("invalid_value", None, record_id, "the record cannot be read"))
        return out


def _no_fast_lane(*_: Any) -> None:
    return None


def _parent_is_root(row: Any) -> bool:
    """Whether the customer's parent has no parent (queries without that column: unknown)."""
    marker = object()
    value = getattr(row, "ref_parent_parent_cust_no", marker)
    return value is None


def _by_id(rows: Iterable[Any], key: str) -> Iterator[tuple[Any, list[Any]]]:
    """Group consecutive rows (the queries order by id) by their id column."""
    for record_id, group in groupby(rows, key=attrgetter(key)):
        yield record_id, list(group)


class LoadValidator:
    """Validates the three resources of one load; call them in load order."""

    def __init__(
        self,
        *,
        today: dt.date,
        ledger_lookup: LedgerLookup,
        model_gate: bool = False,
        fast_lane: bool = True,
    ) -> None:
        self.today = today
        self.ledger_lookup = ledger_lookup
        self.model_gate = model_gate
        #: Per resource, the fast lane's mapping (None: the reference must map the record).
        self.fast: dict[Resource, Callable[..., Mapped | None]] = {
            "customers": fast_customer if fast_lane else _no_fast_lane,
            "subscriptions": fast_subscription if fast_lane else _no_fast_lane,
            "invoices": fast_invoice if fast_lane else _no_fast_lane,
        }
        #: Ids refused (rejected or blocked) so far, per resource: their children are blocked.
        self.refused: dict[Resource, set[str]] = {
            "customers": set(),
            "subscriptions": set(),
            "invoices": set(),
        }

    # -- helpers ------------------------------------------------------------------------------

    def _decide(self, resource: Resource, m: Mapped, row: Any, extra: list[Problem]) -> Decision:
        problems = m.problems + extra
        if self.model_gate and not problems and m.payload is not None:
            gate = model_gate.check(resource, m.payload)
            if gate is not None:
                problems = [gate]
        kind = "reject" if problems or m.payload is None else "stage"
        if kind == "reject":
            self.refused[resource].add(m.record_id)
        return Decision(
            resource,
            m.record_id,
            kind,
            m.payload if kind == "stage" else None,
            problems,
            m.currency,
            m.net_amount,
            getattr(row, "updated_at", None),
            m.plain,
        )

    def _refuse(self, d: Decision, p: Problem) -> Decision:
        d.kind, d.payload = "reject", None
        d.problems.append(p)
        self.refused[d.resource].add(d.record_id)
        return d

    def _resolve_missing(
        self, held: list[tuple[Decision, Resource, str, str]]
    ) -> Iterator[Decision]:
        """Stage held records whose reference is in the ledger; refuse the others."""
        wanted: dict[Resource, set[str]] = {}
        for _, ref_resource, ref_id, _ in held:
            wanted.setdefault(ref_resource, set()).add(ref_id)
        known = {r: self.ledger_lookup(r, sorted(ids)) for r, ids in wanted.items()}
        done: dict[int, Decision] = {}
        for d, ref_resource, ref_id, field in held:
            if ref_id not in known[ref_resource] and d.kind == "stage":
                ref = f"{ref_resource}/{ref_id}"
                self._refuse(d, problem("reference_not_found", field, ref_id, refers_to=ref))
            done[id(d)] = d
        yield from done.values()
        held.clear()

    def _duplicate(self, resource: Resource, record_id: Any, count: int) -> Decision:
        """Refuse an id that came back ``count`` times (its children are then blocked)."""
        self.refused[resource].add(str(record_id))
        return Decision(
            resource,
            str(record_id),
            "reject",
            problems=[problem("duplicate_id", None, record_id, count)],
        )

    def _decide_rows(
        self, resource: Resource, rows: Iterable[Any], key: str, map_fn: Callable[..., Mapped]
    ) -> Iterator[tuple[Any, Decision]]:
        """``(row, decision)`` per id of a resource read one row per record; an id on several
        rows is refused as a duplicate and comes with ``row`` None."""
        for record_id, group in _by_id(rows, key):
            if len(group) > 1:
                yield None, self._duplicate(resource, record_id, len(group))
                continue
            row = group[0]
            m = self.fast[resource](row) or _safe(map_fn, record_id, row)
            yield row, self._decide(resource, m, row, [])

    # -- resources ----------------------------------------------------------------------------

    def customers(self, rows: Iterable[Any]) -> Iterator[Decision]:
        """Customers, roots first: a child of a root is decided at once (its parent was read);
        deeper levels are decided once every customer has been read."""
        held: list[tuple[Decision, str, bool]] = []
        children_seen = False
        for row, d in self._decide_rows("customers", rows, "cust_no", map_customer):
            if row is None:  # a duplicate id
                yield d
                continue
            if row.parent_cust_no is None:  # a root: the query lists them first
                if children_seen:
                    raise ValueError(
                        "customers.sql must list root customers (no parent) before the others"
                    )
                yield d
                continue
            children_seen = True
            parent = d.payload.get("root_parent_id") if d.payload else None
            if parent is None:  # refused already, or a blank parent
                yield d
            elif row.ref_parent_cust_no is not None and _parent_is_root(row):
                # Roots came first: this parent is decided already, refused or staged.
                if d.kind == "stage" and parent in self.refused["customers"]:
                    d = self._refuse(d, blocked("customers", parent, "parent_cust_no"))
                yield d
            else:  # deeper in a hierarchy, or a parent to look up in the ledger: wait
                held.append((d, parent, row.ref_parent_cust_no is not None))
        yield from resolve_hierarchy(held, self.refused["customers"], self.ledger_lookup)

    def subscriptions(self, rows: Iterable[Any]) -> Iterator[Decision]:
        held: list[tuple[Decision, Resource, str, str]] = []
        refused_customers = self.refused["customers"]
        for row, d in self._decide_rows("subscriptions", rows, "contract_no", map_subscription):
            if row is not None and d.kind == "stage":  # row None: a duplicate id
                cust = d.payload["customer_id"]
                if cust in refused_customers:
                    d = self._refuse(d, blocked("customers", cust, "cust_no"))
                elif row.ref_cust_no is None:
                    held.append((d, "customers", cust, "cust_no"))
                    if len(held) >= LOOKUP_BATCH:
                        yield from self._resolve_missing(held)
                    continue
            yield d
        yield from self._resolve_missing(held)

    def invoices(self, rows: Iterable[Any]) -> Iterator[Decision]:
        """Invoices, from rows of the invoice joined to its lines (one row per line)."""
        held: list[tuple[Decision, Resource, str, str]] = []
        cancelled: list[Decision] = []
        for invoice_no, group in _by_id(rows, "invoice_no"):
            head = group[0]
            lines = [r for r in group if r.line_no is not None]
            copies = _header_copies(lines) if len(group) > 1 else 1
            if copies > 1:
                yield self._duplicate("invoices", invoice_no, copies)
                continue
            m = self.fast["invoices"](head, lines, self.today) or _safe(
                map_invoice, invoice_no, head, lines, self.today
            )
            month = month_of(head.invoice_date)
            if m.action != "upsert":
                d = Decision("invoices", m.record_id, "skip", updated_at=head.updated_at)
                d.month = month
                if m.action == "cancel":
                    cancelled.append(d)
                    if len(cancelled) >= LOOKUP_BATCH:
                        yield from self._resolve_cancelled(cancelled)
                    continue
                yield d
                continue
            d = self._decide("invoices", m, head, _invoice_rules(m, head))
            d.month = month
            d.problems = _dated(d.problems, head.invoice_date)
            if d.kind != "stage":
                yield d
                continue
            p = d.payload
            cust, sub = p["customer_id"], p["subscription_id"]
            if sub in self.refused["subscriptions"]:
                d = self._refuse(d, blocked("subscriptions", sub, "contract_no"))
            elif cust in self.refused["customers"]:
                d = self._refuse(d, blocked("customers", cust, "cust_no"))
            elif head.ref_contract_cust_no is None or head.ref_cust_no is None:
                if head.ref_contract_cust_no is None:
                    held.append((d, "subscriptions", sub, "contract_no"))
                if head.ref_cust_no is None:
                    held.append((d, "customers", cust, "cust_no"))
                if len(held) >= LOOKUP_BATCH:
                    yield from self._resolve_missing(held)
                continue
            yield d
        yield from self._resolve_missing(held)
        yield from self._resolve_cancelled(cancelled)

    def _resolve_cancelled(self, cancelled: list[Decision]) -> Iterator[Decision]:
        """A CANCELLED invoice is deleted from Fincome if it was sent, else skipped."""
        sent = self.ledger_lookup("invoices", [d.record_id for d in cancelled])
        for d in cancelled:
            if d.record_id in sent:
                d.kind = "delete"
            yield d
        cancelled.clear()


def _header_copies(lines: Sequence[Any]) -> int:
    """How many times the invoice header came back (an ERP without keys may repeat it)."""
    if not lines:
        return 2  # several rows, none with a line: the header itself is repeated
    counts: dict[Any, int] = {}
    for line in lines:
        counts[line.line_no] = counts.get(line.line_no, 0) + 1
    values = set(counts.values())
    return values.pop() if len(values) == 1 else 1


def _invoice_rules(m: Mapped, head: Any) -> list[Problem]:
    """Rules between an invoice and its contract, as resolved by the query's ref_* columns."""
    if m.problems or m.payload is None:
        return []
    out: list[Problem] = []
    contract = f"subscriptions/{head.contract_no}"
    owner = head.ref_contract_cust_no
    if owner is not None and owner != head.cust_no:
        out.append(
            problem(
                "subscription_customer_mismatch",
                "contract_no",
                head.contract_no,
                owner,
                refers_to=contract,
            )
        )
    ccy = head.ref_contract_currency
    if ccy is not None and ccy != head.currency:
        out.append(problem("currency_mismatch", "currency", head.currency, ccy, refers_to=contract))
    return out


def _dated(problems: list[Problem], invoice_date: Any) -> list[Problem]:
    """An invoice refused for its date in the future may pass on that date: name it."""
    day = day_of(invoice_date)
    if day is None or all(p.reason_code != "issue_date_in_future" for p in problems):
        return problems
    when = f"{CLOCK}/{day.isoformat()}"
    return [
        replace(p, refers_to=when) if p.reason_code == "issue_date_in_future" else p
        for p in problems
    ]
