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

from fincome_airflow.contract import RESOURCES, Resource
from fincome_airflow.models import billing_rules
from fincome_airflow.month import day_of, month_of
from fincome_airflow.reasons import CLOCK, Problem, blocked, problem
from fincome_airflow.transform import values as v
from fincome_airflow.transform.fast import fast_customer, fast_invoice, fast_subscription
from fincome_airflow.transform.mapping import (
    Mapped,
    map_credit_note,
    map_customer,
    map_invoice,
    map_plan,
    map_product,
    map_subscription,
)
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


def _runs(rows: Iterable[Any], key: str) -> Iterator[tuple[Any, Any, int]]:
    """``(id, first row, count)`` per run of consecutive rows of one id: :func:`_by_id` of
    resources read one row per record, without a list per record."""
    get = attrgetter(key)
    first: Any = None
    record_id: Any = None
    count = 0
    for row in rows:
        row_id = get(row)
        if count and row_id == record_id:
            count += 1
            continue
        if count:
            yield record_id, first, count
        record_id, first, count = row_id, row, 1
    if count:
        yield record_id, first, count


def _month_of(value: Any) -> str | None:
    """:func:`~fincome_airflow.month.month_of`, remembered per date (a month repeats them)."""
    if type(value) is not dt.date:
        return month_of(value)
    month = _MONTHS.get(value)
    if month is None:
        if len(_MONTHS) >= _MONTHS_SIZE:
            _MONTHS.clear()
        month = _MONTHS[value] = month_of(value)
    return month


_MONTHS: dict[dt.date, str | None] = {}
_MONTHS_SIZE: Final = 4096


class LoadValidator:
    """Validates the resources of one load; call them in load order (``contract.RESOURCES``)."""

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
        self.fast: dict[Resource, Callable[..., Mapped | None]] = dict.fromkeys(
            RESOURCES, _no_fast_lane
        )
        if fast_lane:
            self.fast |= {
                "customers": fast_customer,
                "subscriptions": fast_subscription,
                "invoices": fast_invoice,
            }
        #: Ids refused (rejected or blocked) so far, per resource: their children are blocked.
        self.refused: dict[Resource, set[str]] = {resource: set() for resource in RESOURCES}

    # -- helpers ------------------------------------------------------------------------------

    def _decide(self, resource: Resource, m: Mapped, row: Any, extra: list[Problem]) -> Decision:
        # (the mapping's list is its own: the decision may take it)
        problems = m.problems + extra if extra else m.problems
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

    def _check_reference(
        self,
        d: Decision,
        held: list[tuple[Decision, Resource, str, str]],
        ref_resource: Resource,
        ref_id: str | None,
        field: str,
        in_erp: bool,
    ) -> bool:
        """Block ``d`` when its reference was refused; hold it for a ledger look-up when the ERP
        does not hold it. Returns whether ``d`` may be yielded now."""
        if d.kind != "stage" or ref_id is None:
            return True
        if ref_id in self.refused[ref_resource]:
            self._refuse(d, blocked(ref_resource, ref_id, field))
            return True
        if not in_erp:
            held.append((d, ref_resource, ref_id, field))
            return False
        return True

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
        fast = self.fast[resource]
        for record_id, row, count in _runs(rows, key):
            if count > 1:
                yield None, self._duplicate(resource, record_id, count)
                continue
            m = fast(row) or _safe(map_fn, record_id, row)
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

    def products(self, rows: Iterable[Any]) -> Iterator[Decision]:
        for _, d in self._decide_rows("products", rows, "product_code", map_product):
            yield d

    def plans(self, rows: Iterable[Any]) -> Iterator[Decision]:
        """Plans: a plan whose product was refused is blocked by it."""
        held: list[tuple[Decision, Resource, str, str]] = []
        for row, d in self._decide_rows("plans", rows, "plan_code", map_plan):
            if row is not None and d.kind == "stage":
                product = d.payload["product_id"]
                found = row.ref_product_code is not None
                if not self._check_reference(d, held, "products", product, "product_code", found):
                    if len(held) >= LOOKUP_BATCH:
                        yield from self._resolve_missing(held)
                    continue
            yield d
        yield from self._resolve_missing(held)

    def subscriptions(self, rows: Iterable[Any]) -> Iterator[Decision]:
        """Subscriptions: a refused customer or plan blocks them (the customer is named)."""
        held: list[tuple[Decision, Resource, str, str]] = []
        refused_customers = self.refused["customers"]
        for row, d in self._decide_rows("subscriptions", rows, "contract_no", map_subscription):
            if row is not None and d.kind == "stage":  # row None: a duplicate id
                cust = d.payload["customer_id"]
                plan = d.payload.get("plan_id")
                # a query without ref_plan_code (an ERP of its own) leaves the plan to Fincome
                plan_found = getattr(row, "ref_plan_code", plan) is not None
                if cust in refused_customers:
                    d = self._refuse(d, blocked("customers", cust, "cust_no"))
                waits = row.ref_cust_no is None and d.kind == "stage"
                if waits:
                    held.append((d, "customers", cust, "cust_no"))
                ready = self._check_reference(d, held, "plans", plan, "plan_code", plan_found)
                if waits or not ready:
                    if len(held) >= LOOKUP_BATCH:
                        yield from self._resolve_missing(held)
                    continue
            yield d
        yield from self._resolve_missing(held)

    def _documents(
        self,
        resource: Resource,
        rows: Iterable[Any],
        key: str,
        date_column: str,
        map_fn: Callable[..., Mapped],
        rules_fn: Callable[[Mapped, Any], list[Problem]],
    ) -> Iterator[tuple[Any, Decision]]:
        """``(head row, decision)`` per document of rows joined to its lines (one row per line:
        invoices, credit notes), its own rules applied, its billing month from ``date_column``;
        ``head`` is None when the decision is final (a duplicate id, a skipped or cancelled
        document, a refusal)."""
        cancelled: list[Decision] = []
        for record_id, group in _by_id(rows, key):
            head = group[0]
            lines = [r for r in group if r.line_no is not None]
            copies = _header_copies(lines) if len(group) > 1 else 1
            if copies > 1:
                yield None, self._duplicate(resource, record_id, copies)
                continue
            m = self.fast[resource](head, lines, self.today) or _safe(
                map_fn, record_id, head, lines, self.today
            )
            date = getattr(head, date_column)
            month = _month_of(date)
            if m.action != "upsert":
                d = Decision(resource, m.record_id, "skip", updated_at=head.updated_at)
                d.month = month
                if m.action == "cancel":
                    cancelled.append(d)
                    if len(cancelled) >= LOOKUP_BATCH:
                        yield from ((None, c) for c in self._resolve_cancelled(cancelled, resource))
                    continue
                yield None, d
                continue
            d = self._decide(resource, m, head, rules_fn(m, head))
            d.month = month
            if d.problems:
                d.problems = _dated(d.problems, date)
            yield (head if d.kind == "stage" else None), d
        yield from ((None, c) for c in self._resolve_cancelled(cancelled, resource))

    def invoices(self, rows: Iterable[Any]) -> Iterator[Decision]:
        """Invoices, from rows of the invoice joined to its lines (one row per line)."""
        held: list[tuple[Decision, Resource, str, str]] = []
        documents = self._documents(
            "invoices", rows, "invoice_no", "invoice_date", map_invoice, _invoice_rules
        )
        for head, d in documents:
            if head is None:
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

    def credit_notes(self, rows: Iterable[Any]) -> Iterator[Decision]:
        """Credit notes, from rows of the credit note joined to its lines (one row per line);
        one whose invoice or customer was refused is blocked by it (the invoice is named).
        A cancelled one, or one of a cancelled invoice, is deleted if it was sent."""
        held: list[tuple[Decision, Resource, str, str]] = []
        documents = self._documents(
            "credit_notes",
            rows,
            "credit_note_no",
            "issue_date",
            map_credit_note,
            _credit_note_rules,
        )
        for head, d in documents:
            if head is None:
                yield d
                continue
            invoice, cust = d.payload["invoice_id"], d.payload["customer_id"]
            found = head.ref_invoice_no is not None
            ready = self._check_reference(d, held, "invoices", invoice, "invoice_no", found)
            found = head.ref_cust_no is not None
            ready = self._check_reference(d, held, "customers", cust, "cust_no", found) and ready
            if not ready:
                if len(held) >= LOOKUP_BATCH:
                    yield from self._resolve_missing(held)
                continue
            yield d
        yield from self._resolve_missing(held)

    def _resolve_cancelled(
        self, cancelled: list[Decision], resource: Resource = "invoices"
    ) -> Iterator[Decision]:
        """A cancelled record is deleted from Fincome if it was sent, else skipped."""
        sent = self.ledger_lookup(resource, [d.record_id for d in cancelled])
        for d in cancelled:
            if d.record_id in sent:
                d.kind = "delete"
            yield d
        cancelled.clear()


def _header_copies(lines: Sequence[Any]) -> int:
    """How many times the invoice header came back (an ERP without keys may repeat it)."""
    if not lines:
        return 2  # several rows, none with a line: the header itself is repeated
    if len({line.line_no for line in lines}) == len(lines):
        return 1  # (the common case: each line once)
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
    owner = head.ref_contract_cust_no
    if owner is not None and owner != head.cust_no:
        out.append(
            problem(
                "subscription_customer_mismatch",
                "contract_no",
                head.contract_no,
                owner,
                refers_to=f"subscriptions/{head.contract_no}",
            )
        )
    ccy = head.ref_contract_currency
    if ccy is not None and ccy != head.currency:
        contract = f"subscriptions/{head.contract_no}"
        out.append(problem("currency_mismatch", "currency", head.currency, ccy, refers_to=contract))
    return out


def _dated(problems: list[Problem], invoice_date: Any) -> list[Problem]:
    """An invoice refused for its date in the future may pass on that date: name it."""
    if all(p.reason_code != "issue_date_in_future" for p in problems):
        return problems
    day = day_of(invoice_date)
    if day is None:
        return problems
    when = f"{CLOCK}/{day.isoformat()}"
    return [
        replace(p, refers_to=when) if p.reason_code == "issue_date_in_future" else p
        for p in problems
    ]


def _credit_note_rules(m: Mapped, head: Any) -> list[Problem]:
    """Rules between a credit note and the invoice it credits, as resolved by the query's
    ref_* columns (an invoice only in the ledger is checked by Fincome)."""
    if m.problems or m.payload is None or head.ref_invoice_no is None:
        return []
    out: list[Problem] = []
    owner = head.ref_invoice_cust_no
    if owner is not None and owner != head.cust_no:
        out.append(problem("invoice_customer_mismatch", "invoice_no", head.invoice_no, owner))
    ccy = head.ref_invoice_currency
    if ccy is not None and ccy != head.currency:
        out.append(
            problem("currency_mismatch", "currency", head.currency, ccy, resource="credit_notes")
        )
    invoiced = v.date(head.ref_invoice_date, "ref_invoice_date", [])
    issued = dt.date.fromisoformat(m.payload["issue_date"])
    if invoiced is not None:
        shown = issued.isoformat()
        v.passes(out, "issue_date", shown, billing_rules.not_before_invoice, issued, invoiced)
    invoice_net = v.amount(head.ref_invoice_net, "ref_invoice_net", [])
    credited = v.amount(head.credited_total, "credited_total", [])
    if invoice_net is not None and credited is not None:
        v.passes(out, "total_net", credited, billing_rules.within_invoice, credited, invoice_net)
    return out
