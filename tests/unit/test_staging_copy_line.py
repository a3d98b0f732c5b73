"""A staged row's COPY line is the value-by-value escaped text, whatever its values hold."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fincome_airflow.stage.staging import _copy_line, _copy_text

values = st.none() | st.text() | st.sampled_from(["\\N", "a\\b", "\t", "x\ny", "\r"])
values |= st.decimals(allow_nan=False, places=2) | st.integers()


@settings(max_examples=800, deadline=None)
@given(st.lists(values, min_size=1, max_size=9))
def test_copy_line_is_each_value_escaped_and_joined_by_tabs(row) -> None:
    assert _copy_line(row) == "\t".join(_copy_text(v) for v in row) + "\n"


def test_copy_line_escapes_a_backslash_beside_a_null() -> None:
    assert _copy_line([None, "a\\b", Decimal("1.50")]) == "\\N\ta\\\\b\t1.50\n"
