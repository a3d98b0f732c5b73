"""The fast lane's memos give what mapping afresh gives, miss on any changed value, stay bounded.

A memo is keyed by every value the remembered mapping reads: a hit must give exactly the outcome
of the same record mapped with every memo empty, and a record that differs in any column the
mapping reads (even only by a ``Decimal``'s exponent or sign, or a ``str`` subclass) must not
take a remembered outcome.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic_core import PydanticCustomError
from test_mapping_fast_lane import HEAD, LINES

from fincome_airflow.transform import fast
from fincome_airflow.transform.mapping import Mapped, map_invoice

TODAY = dt.date(2026, 11, 3)
D = dt.date


class _Text(str):
    """A ``str`` subclass: equal to its text, but not the exact type the fast lane takes."""


RECURRING, ONE_OFF = LINES
#: Per column the line mapping reads, values that differ from the clean line's: other texts,
#: the same number with another exponent or sign, other types equal to the clean value.
CHANGES: dict[str, list[Any]] = {
    "description": ["Pro plan ", "Pro", "", "  ", _Text("Pro plan"), "two\nlines", None, 3],
    "line_kind": ["ONE_OFF", "USAGE", None, _Text("RECURRING")],
    "service_from": [D(2026, 9, 30), D(2026, 10, 2), dt.datetime(2026, 10, 1), None],
    "service_to": [D(2026, 11, 1), D(2026, 9, 1), dt.datetime(2026, 10, 31), None],
    "quantity": [
        Decimal("1"),
        Decimal("1.0"),
        Decimal("1.500"),
        Decimal("1.50"),
        Decimal("2"),
        Decimal("0"),
        Decimal("-1"),
        Decimal("NaN"),
        None,
        1,
        1.0,
    ],
    "net_amount": [
        Decimal("100"),
        Decimal("100.0"),
        Decimal("70.00"),
        Decimal("0.00"),
        Decimal("-0.00"),
        Decimal("100.001"),
        Decimal("-100.00"),
        100,
        100.0,
        None,
    ],
}


def _clear_memos() -> None:
    for memo in (fast._ISO, fast._MONEY, fast._WHOLE_QUANTITY, fast._LINE_ID, fast._LINE):
        memo.clear()


@pytest.fixture(autouse=True)
def _empty_memos() -> None:
    _clear_memos()


def _invoice(*lines: dict[str, Any], **head: Any) -> Mapped | None:
    rows = [SimpleNamespace(**line) for line in lines]
    return fast.fast_invoice(SimpleNamespace(**(HEAD | head)), rows, TODAY)


def _afresh(*lines: dict[str, Any], **head: Any) -> Mapped | None:
    """The fast lane's outcome with every memo empty (the memos are emptied again after)."""
    _clear_memos()
    try:
        return _invoice(*lines, **head)
    finally:
        _clear_memos()


def _variants() -> list[tuple[dict[str, Any], dict[str, Any], Decimal]]:
    """(line, other line, invoice total) per change of one column of the recurring line (or of
    the one-off line, for a quantity whose exponent shows)."""
    out = []
    for column, values in CHANGES.items():
        for value in values:
            line = RECURRING | {column: value}
            total = Decimal("130.00")
            if column == "net_amount" and type(value) is Decimal and value.is_finite():
                total = value + Decimal("30.00")
            out.append((line, ONE_OFF, total))
            if column in ("quantity", "net_amount", "description"):
                out.append((RECURRING, ONE_OFF | {column: value}, Decimal("130.00")))
    return out


def test_a_remembered_line_maps_as_a_line_mapped_afresh_and_as_the_reference() -> None:
    first = _invoice(RECURRING, ONE_OFF)
    again = _invoice(RECURRING, ONE_OFF)
    reference = map_invoice(
        SimpleNamespace(**HEAD), [SimpleNamespace(**x) for x in (RECURRING, ONE_OFF)], TODAY
    )
    assert first is not None and again is not None
    assert again.payload == first.payload == reference.payload
    assert again.payload["lines"][1]["quantity"] == "1.5"


@pytest.mark.parametrize(("line", "other", "total"), _variants())
def test_a_line_that_differs_in_any_column_the_mapping_reads_misses_the_memo(
    line: dict[str, Any], other: dict[str, Any], total: Decimal
) -> None:
    primed = _invoice(RECURRING, ONE_OFF)
    assert primed is not None  # the clean lines are remembered now
    remembered = _invoice(line, other, total_net=total)
    assert remembered == _afresh(line, other, total_net=total)
    if remembered is not None:
        assert (
            remembered.payload
            == map_invoice(
                SimpleNamespace(**(HEAD | {"total_net": total})),
                [SimpleNamespace(**x) for x in (line, other)],
                TODAY,
            ).payload
        )


def test_a_quantity_or_amount_keeps_its_own_exponent_and_sign_after_an_equal_one() -> None:
    assert _invoice(RECURRING, ONE_OFF | {"quantity": Decimal("1.5")}) is not None
    later = _invoice(RECURRING, ONE_OFF | {"quantity": Decimal("1.50")})
    assert later is not None and later.payload["lines"][1]["quantity"] == "1.50"
    zero = {"net_amount": Decimal("0.00")}
    assert _invoice(RECURRING | zero, ONE_OFF, total_net=Decimal("30.00")) is not None
    signed = _invoice(
        RECURRING | {"net_amount": Decimal("-0.00")}, ONE_OFF, total_net=Decimal("30.00")
    )
    assert signed is not None and signed.payload["lines"][0]["net_amount"] == "-0.00"


def test_each_line_keeps_its_own_id_and_custom_properties() -> None:
    one = _invoice(RECURRING, ONE_OFF)
    other = _invoice(RECURRING | {"line_no": 7}, ONE_OFF | {"line_no": 8}, invoice_no="I2")
    assert one is not None and other is not None
    assert [x["id"] for x in one.payload["lines"]] == ["1", "2"]
    assert [x["id"] for x in other.payload["lines"]] == ["7", "8"]
    assert other.payload["id"] == "I2"
    first, second = one.payload["lines"][0], other.payload["lines"][0]
    assert (
        first["custom_properties"] == {}
        and first["custom_properties"] is not (second["custom_properties"])
    )
    first["custom_properties"]["x"] = "changed"  # a payload's change stays in that payload
    third = _invoice(RECURRING, ONE_OFF)
    assert third is not None and third.payload["lines"][0]["custom_properties"] == {}


def test_a_duplicate_line_id_is_still_left_to_the_reference_when_its_content_is_known() -> None:
    assert _invoice(RECURRING, ONE_OFF) is not None
    assert _invoice(RECURRING, ONE_OFF | {"line_no": 1}) is None


def test_the_line_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "_MEMO_SIZE", 10)
    for cents in range(1, 60):
        amount = Decimal(cents).scaleb(-2)
        line = ONE_OFF | {"net_amount": amount}
        assert _invoice(RECURRING, line, total_net=amount + 100) is not None
        assert len(fast._LINE) <= 10
    assert len(fast._LINE) > 0


class _Day(dt.date):
    """A ``date`` subclass: equal to its date, but not the exact type the fast lane takes."""


@pytest.mark.parametrize(
    "other",
    [dt.datetime(2026, 10, 1), _Day(2026, 10, 1), "2026-10-01"],
    ids=["datetime", "date-subclass", "text"],
)
def test_a_remembered_date_is_taken_only_for_a_date_of_the_exact_type(other: Any) -> None:
    assert fast._day(D(2026, 10, 1)) == "2026-10-01"  # remembered now
    assert fast._day(D(2026, 10, 1)) == "2026-10-01"
    with pytest.raises(fast._Unusual):
        fast._day(other)


def test_a_date_out_of_range_is_never_remembered() -> None:
    for day in (D(1969, 12, 31), D(2101, 1, 1)):
        for _ in range(2):
            with pytest.raises(PydanticCustomError, match="year must be between"):
                fast._day(day)
        assert day not in fast._ISO


def test_the_date_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "_MEMO_SIZE", 10)
    for n in range(60):
        day = D(2026, 1, 1) + dt.timedelta(days=n)
        assert fast._day(day) == day.isoformat()
        assert len(fast._ISO) <= 10


def test_a_remembered_amount_is_taken_only_for_a_decimal_of_the_same_text() -> None:
    for value, text in [
        (Decimal("10.5"), "10.50"),
        (Decimal("10.50"), "10.50"),
        (Decimal("0.00"), "0.00"),
        (Decimal("-0.00"), "-0.00"),
        (Decimal("0"), "0.00"),
        (Decimal("1E+2"), "100.00"),
    ]:
        for _ in range(2):  # afresh, then remembered
            assert fast._money(value) == (value.quantize(Decimal("0.01")), text)
    for other in (10.5, 10, "10.50", None):
        with pytest.raises(fast._Unusual):
            fast._money(other)
    with pytest.raises(PydanticCustomError):
        fast._money(Decimal("-1.00"))
    assert "-1.00" not in fast._MONEY


def test_the_amount_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "_MEMO_SIZE", 10)
    for cents in range(60):
        assert fast._money(Decimal(cents).scaleb(-2))[0] == Decimal(cents).scaleb(-2)
        assert len(fast._MONEY) <= 10
