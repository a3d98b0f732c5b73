"""Pure comparison of expected (ERP) and actual (Fincome) records, resource by resource."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from fincome_airflow.contract import AMOUNT_FIELDS

DifferenceKind = Literal["missing", "extra", "differs", "refused"]

#: Fields Fincome adds to what it stores; never compared.
_SERVER_FIELDS = frozenset({"created_at", "updated_at"})


@dataclass(frozen=True)
class Difference:
    """One record on which Fincome and the ERP disagree.

    ``refused`` marks a record missing from Fincome because this run rejected or blocked it:
    reported as such, not as a loss.
    """

    resource: str
    record_id: str
    kind: DifferenceKind
    currency: str | None
    amount_at_stake: Decimal
    fields: tuple[str, ...] = ()
    detail: str = ""

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["fields"] = ",".join(self.fields)
        row["amount_at_stake"] = format(self.amount_at_stake, "f")
        return row


def _normalize(value: Any, key: str = "") -> Any:
    """Make equal values compare equal, deeply; only decimal fields are read as numbers."""
    if isinstance(value, dict):
        # An absent field and a null one are the same (Fincome answers nulls it was not sent).
        return {
            k: _normalize(v, k)
            for k, v in value.items()
            if k not in _SERVER_FIELDS and v is not None
        }
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if key in AMOUNT_FIELDS and value is not None and not isinstance(value, bool):
        try:
            return Decimal(str(value)).normalize()
        except InvalidOperation:
            return value
    return value


def differing_fields(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> tuple[str, ...]:
    """Fields of ``expected`` whose value Fincome holds differently (absent counts as null)."""
    fields = []
    for key, value in expected.items():
        if key in _SERVER_FIELDS:
            continue
        if _normalize(value, key) != _normalize(actual.get(key), key):
            fields.append(key)
    return tuple(sorted(fields))


def _amount(record: Mapping[str, Any] | None) -> Decimal:
    if not record or record.get("net_amount") is None:
        return Decimal(0)
    try:
        return Decimal(str(record["net_amount"]))
    except InvalidOperation:
        return Decimal(0)


def compare_pair(
    resource: str,
    record_id: str,
    want: Mapping[str, Any] | None,
    have: Mapping[str, Any] | None,
    refused_reason: str | None = None,
    *,
    report_extra: bool = True,
) -> Difference | None:
    """Compare one record: the ERP's version ``want`` with Fincome's ``have`` (either absent).

    A record this run refused (``refused_reason``) that Fincome does not hold as expected is
    reported as ``refused``: explained, not lost.
    """
    if want is None:
        if refused_reason is not None:
            return Difference(resource, record_id, "refused", None, Decimal(0), (), refused_reason)
        if have is not None and report_extra:
            return Difference(resource, record_id, "extra", have.get("currency"), _amount(have))
        return None
    currency = want.get("currency")
    if have is None:
        return Difference(resource, record_id, "missing", currency, _amount(want))
    fields = differing_fields(want, have)
    if fields:
        stake = abs(_amount(want) - _amount(have))
        return Difference(resource, record_id, "differs", currency, stake, fields)
    return None


def compare(
    resource: str,
    expected: Mapping[str, Mapping[str, Any]],
    actual: Mapping[str, Mapping[str, Any]],
    refused: Mapping[str, str] | None = None,
    *,
    report_extra: bool = True,
) -> list[Difference]:
    """Compare one resource record by record (in memory: for the smaller resources).

    :param expected: the ERP's records (Fincome payloads) by id.
    :param actual: what Fincome holds, by id.
    :param refused: ids this run rejected or blocked, with the reason.
    :param report_extra: whether records present only in Fincome are differences (true for the
        month's invoices; customers and subscriptions are shared between months).
    """
    refused = refused or {}
    out = []
    for record_id in sorted(set(expected) | set(actual) | set(refused)):
        diff = compare_pair(
            resource,
            record_id,
            expected.get(record_id),
            actual.get(record_id),
            refused.get(record_id),
            report_extra=report_extra,
        )
        if diff is not None:
            out.append(diff)
    return out


_CENT = Decimal("0.01")


class CurrencyTotals:
    """Net amounts per currency of one resource for a month: what the ERP month calls for
    (``expected``) and what Fincome holds (``held``), to the cent.

    A record refused by this run that Fincome holds from an earlier load counts as held only:
    the difference it makes is explained by its ``refused`` row.
    """

    def __init__(self) -> None:
        self.expected: dict[str, Decimal] = defaultdict(Decimal)
        self.held: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, want: Mapping[str, Any] | None, have: Mapping[str, Any] | None) -> None:
        if want is not None and want.get("currency"):
            self.expected[want["currency"]] += _amount(want)
        if have is not None and have.get("currency"):
            self.held[have["currency"]] += _amount(have)

    def result(self) -> dict[str, dict[str, str]]:
        """``{currency: {"expected", "held", "difference" (held - expected)}}``, amounts as text."""
        out = {}
        for currency in sorted(self.expected.keys() | self.held.keys()):
            expected, held = self.expected[currency], self.held[currency]
            out[currency] = {
                "expected": format(expected.quantize(_CENT), "f"),
                "held": format(held.quantize(_CENT), "f"),
                "difference": format((held - expected).quantize(_CENT), "f"),
            }
        return out


def totals_differ(
    totals: Mapping[str, Mapping[str, Mapping[str, str]]],
) -> list[tuple[str, str, str]]:
    """``(resource, currency, difference)`` of every total that Fincome holds differently."""
    return [
        (resource, currency, figures["difference"])
        for resource, by_currency in totals.items()
        for currency, figures in by_currency.items()
        if Decimal(figures["difference"]) != 0
    ]


class VerdictBuilder:
    """Accumulates counts per kind and money at stake per currency, one difference at a time."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.stakes: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, diff: Difference) -> None:
        self.counts[diff.kind] += 1
        if diff.kind != "refused" and diff.currency:
            self.stakes[diff.currency] += diff.amount_at_stake

    def result(self) -> dict[str, Any]:
        """Records refused by this run are counted apart: they are explained, not lost."""
        unexplained = sum(n for kind, n in self.counts.items() if kind != "refused")
        return {
            "verdict": "reconciled" if unexplained == 0 else f"{unexplained} differences",
            "differences": unexplained,
            "by_kind": dict(sorted(self.counts.items())),
            "amount_at_stake": {c: format(a, "f") for c, a in sorted(self.stakes.items())},
        }


def verdict(differences: Iterable[Difference]) -> dict[str, Any]:
    """A short verdict: ``reconciled``, or the count of differences and amounts per currency."""
    builder = VerdictBuilder()
    for diff in differences:
        builder.add(diff)
    return builder.result()


def largest(differences: Iterable[Difference], n: int = 5) -> list[Difference]:
    """The ``n`` unexplained differences with the most money at stake."""
    real = [d for d in differences if d.kind != "refused"]
    return sorted(real, key=lambda d: (-d.amount_at_stake, d.resource, d.record_id))[:n]
