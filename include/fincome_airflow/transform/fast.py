"""The fast lane of the mapping: clean records of the types PostgreSQL gives, mapped directly.

The reference mapping (:mod:`.mapping`) reads any driver's types and names every defect of a
record with its column, which costs a problem list, a type dispatch and a field name per
value. Most records have no defect. Each function here takes the same row, applies the same
rules of the contract (``models.rules``, called, never copied) to values of the exact types
PostgreSQL returns (``str``, ``datetime.date``, ``Decimal``, ``int`` line numbers) and returns
the :class:`~.mapping.Mapped` the reference gives, or None as soon as anything is unusual: a
rule's refusal, a blank or missing value, another type, a status that is not sent. The caller
then maps the record with the reference, which names the reasons. So the fast lane decides
only records the reference stages, and stages them identically
(``tests/unit/test_mapping_fast_lane.py`` mutates each column through defects and edge values;
``tests/integration/test_extract_pinned.py`` pins the staged rows and rejects of a dirty month
and the defect corpus on PostgreSQL, read through the fast lane).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from fincome_airflow.memo import remember
from fincome_airflow.models import rules
from fincome_airflow.transform.mapping import (
    INVOICE_STATUS,
    LINE_TYPE,
    ONE_DAY,
    SUBSCRIPTION_STATUS,
    Mapped,
)
from fincome_airflow.transform.values import CENT, money

_DATE: Final = dt.date
_DECIMAL: Final = Decimal
#: One line quantity left blank in the ERP: one unit (``values.quantity``).
_ONE: Final = money(Decimal(1))
#: Entries per memo below: a month's dates and amounts repeat (plans, prices, service periods).
_MEMO_SIZE: Final = 20_000
_ISO: dict[dt.date, str] = {}
_MONEY: dict[str, tuple[Decimal, str]] = {}
#: The JSON text of accepted whole quantities (equal whole numbers give the same text whatever
#: their exponent; a fractional quantity keeps its exponent's digits, so it is not remembered).
_WHOLE_QUANTITY: dict[Decimal, str] = {}
#: Line ids of integer line numbers.
_LINE_ID: dict[int, str] = {}
#: A line's mapped fields (apart from its id) and amount, per content (``_line_content``).
_LINE: dict[tuple[Any, ...], tuple[dict[str, Any], Decimal]] = {}


class _Unusual(Exception):
    """A value the fast lane leaves to the reference mapping."""


def _id(value: Any) -> str:
    if type(value) is str and value.strip():
        return rules.identifier(value)
    raise _Unusual


def _optional_id(value: Any) -> str | None:
    return None if value is None else _id(value)


def _text(value: Any) -> str | None:
    """Optional free text: None and blank text give None."""
    if value is None:
        return None
    if type(value) is str:
        return rules.text(value) if value.strip() else None
    raise _Unusual


def _date(value: Any) -> dt.date:
    if type(value) is _DATE:
        return rules.date_in_range(value)
    raise _Unusual


def _amount(value: Any) -> Decimal:
    if type(value) is _DECIMAL:
        return rules.non_negative(rules.amount(value)).quantize(CENT)
    raise _Unusual


def _money(value: Any) -> tuple[Decimal, str]:
    """:func:`_amount` and its JSON text, remembered per text of the ``Decimal`` (its sign,
    digits and exponent: the value itself). Keyed by text, not by the ``Decimal``: a
    ``Decimal`` computes its hash on first use, and each row brings new ones (~1 us each)."""
    if type(value) is not _DECIMAL:
        raise _Unusual
    text = str(value)
    known = _MONEY.get(text)
    if known is None:
        amount = _amount(value)
        known = remember(_MONEY, text, (amount, money(amount)), _MEMO_SIZE)
    return known


def _iso(value: dt.date) -> str:
    """``value.isoformat()`` of a date in range (``rules.date_in_range`` passed), remembered."""
    text = _ISO.get(value)
    if text is None:
        text = remember(_ISO, value, value.isoformat(), _MEMO_SIZE)
    return text


def _day(value: Any) -> str:
    """The ISO text of :func:`_date`: a remembered date passed the rule already."""
    if type(value) is not _DATE:
        raise _Unusual
    text = _ISO.get(value)
    return text if text is not None else _iso(rules.date_in_range(value))


def _currency(value: Any) -> str:
    if type(value) is str:
        return rules.currency(value)
    raise _Unusual


def fast_customer(row: Any) -> Mapped | None:
    """:func:`~.mapping.map_customer` of a clean row, or None."""
    try:
        cid = _id(row.cust_no)
        payload: dict[str, Any] = {"id": cid, "custom_properties": {}}
        name = _text(row.company_name)
        if name is None:
            return None
        payload["name"] = name
        email = _text(row.email)
        if email is not None:
            payload["email"] = email
        country = row.country_code
        if country is not None:
            if type(country) is not str:
                return None
            code = country.strip().upper()
            if code:
                payload["country"] = rules.country(code)
        zip_code = _text(row.postal_code)
        if zip_code is not None:
            payload["zip_code"] = zip_code
        parent = _optional_id(row.parent_cust_no)
        if parent is not None:
            rules.not_own_parent(cid, parent)
            payload["root_parent_id"] = parent
    except Exception:  # a refusal or anything unusual: the reference names it
        return None
    return Mapped(str(row.cust_no), payload=payload, plain=True)


def fast_subscription(row: Any) -> Mapped | None:
    """:func:`~.mapping.map_subscription` of a clean row, or None."""
    try:
        payload: dict[str, Any] = {"id": _id(row.contract_no), "customer_id": _id(row.cust_no)}
        plan = _optional_id(row.plan_code)
        if plan is not None:
            payload["plan_id"] = plan
        status = SUBSCRIPTION_STATUS.get(row.status)
        if status is None:
            return None
        payload["status"] = status
        start, end, terminated = row.start_date, row.end_date, row.terminated_on
        start_date = _day(start)
        end_date = None if end is None else _day(end)
        canceled_at = None if terminated is None else _day(terminated)
        payload["start_date"] = start_date
        if end_date is not None:
            rules.end_not_before_start(start, end)
            payload["end_date"] = end_date
        if status == "canceled":
            if canceled_at is None:
                return None
            rules.canceled_not_before_start(start, terminated)
            payload["canceled_at"] = canceled_at
        currency = payload["currency"] = _currency(row.currency)
        fee = row.monthly_fee
        if fee is not None:
            payload["monthly_value"] = _money(fee)[1]
        payload["custom_properties"] = {}
    except Exception:  # a refusal or anything unusual: the reference names it
        return None
    return Mapped(str(row.contract_no), payload=payload, currency=currency, plain=True)


def fast_invoice(head: Any, lines: Sequence[Any], today: dt.date) -> Mapped | None:
    """:func:`~.mapping.map_invoice` of a clean, sent invoice (not DRAFT nor CANCELLED), or
    None."""
    try:
        status = INVOICE_STATUS.get(head.doc_status)
        if status is None:
            return None
        iid = _id(head.invoice_no)
        payload: dict[str, Any] = {"id": iid, "number": iid}
        payload["customer_id"] = _id(head.cust_no)
        payload["subscription_id"] = _id(head.contract_no)
        payload["status"] = status
        issued = head.invoice_date
        issue_date = _day(issued)
        if issued > today:
            return None
        payload["issue_date"] = issue_date
        due = head.due_date
        if due is not None:
            due_date = _day(due)
            rules.due_not_before_issue(issued, due)
            payload["due_date"] = due_date
        currency = payload["currency"] = _currency(head.currency)
        net, payload["net_amount"] = _money(head.total_net)
        tax = head.total_tax
        if tax is not None:
            payload["tax_amount"] = _money(tax)[1]
        if lines:
            payload["lines"], total = _lines(lines)
            rules.lines_add_up(total, net)
        payload["custom_properties"] = {}
    except Exception:  # a refusal or anything unusual: the reference names it
        return None
    return Mapped(
        str(head.invoice_no), payload=payload, currency=currency, net_amount=net, plain=True
    )


def _lines(lines: Sequence[Any]) -> tuple[list[dict[str, Any]], Decimal]:
    mapped: list[dict[str, Any]] = []
    seen: set[str] = set()
    total = Decimal(0)
    for row in lines:
        n = row.line_no
        line_id = _line_id(n) if type(n) is int else _id(n)
        rules.line_id_unique(line_id, seen)
        seen.add(line_id)
        template, amount = _line_content(row)
        total += amount
        line = template.copy()  # the reference's keys, in its order
        line["id"] = line_id
        line["custom_properties"] = {}  # a dict of its own per line
        mapped.append(line)
    return mapped, total


def _line_content(row: Any) -> tuple[dict[str, Any], Decimal]:
    """A line's mapped fields, its id and ``custom_properties`` left None (each line sets
    its own), and its amount, remembered per content: a month's invoices repeat a few
    thousand distinct lines.

    The key holds every value the line's mapping reads, in a form that tells apart any two
    values the mapping could map differently: the type and text of each ``Decimal`` (``str``
    shows its sign and exponent: ``-0.00`` and ``0.00``, ``1.5`` and ``1.50`` map apart), the
    exact ``str`` or None of the description, the exact dates of the service period (only a
    subscription line reads them). Any other type is left to the reference, as before."""
    kind = LINE_TYPE.get(row.line_kind)
    if kind is None:
        raise _Unusual
    description = row.description
    quantity = row.quantity
    net = row.net_amount
    if (
        (description is not None and type(description) is not str)
        or (quantity is not None and type(quantity) is not _DECIMAL)
        or type(net) is not _DECIMAL
    ):
        raise _Unusual
    if kind == "subscription":
        start, last = row.service_from, row.service_to
        if type(start) is not _DATE or type(last) is not _DATE:
            raise _Unusual
        key: tuple[Any, ...] = (kind, description, str(quantity), str(net), start, last)
    else:
        key = (kind, description, str(quantity), str(net))
    known = _LINE.get(key)
    if known is None:
        known = remember(_LINE, key, _map_line_content(row, kind), _MEMO_SIZE)
    return known


def _map_line_content(row: Any, kind: str) -> tuple[dict[str, Any], Decimal]:
    """The line's fields of :func:`_line_content`, by the rules."""
    line: dict[str, Any] = {"id": None, "type": kind}
    description = _text(row.description)
    if description is not None:
        line["description"] = description
    line["quantity"] = _quantity(row.quantity)
    amount, line["net_amount"] = _money(row.net_amount)
    if kind == "subscription":
        start = _date(row.service_from)
        end = _date(row.service_to) + ONE_DAY
        rules.period_in_order(start, end)
        rules.date_in_range(end)
        line["period_start"] = _iso(start)
        line["period_end"] = _iso(end)
    line["custom_properties"] = None
    return line, amount


def _line_id(number: int) -> str:
    """The id of line ``number`` (``rules.identifier`` of its text), remembered."""
    line_id = _LINE_ID.get(number)
    if line_id is None:
        line_id = remember(_LINE_ID, number, rules.identifier(str(number)), _MEMO_SIZE)
    return line_id


def _quantity(value: Any) -> str:
    if value is None:
        return _ONE
    if type(value) is not _DECIMAL:
        raise _Unusual
    known = _WHOLE_QUANTITY.get(value)
    if known is not None:
        return known
    rules.quantity(value)
    if value != value.to_integral_value():
        return money(value)
    return remember(_WHOLE_QUANTITY, value, money(value.normalize()), _MEMO_SIZE)
