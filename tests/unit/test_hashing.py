"""Canonical JSON and the payload hash."""

from __future__ import annotations

import pytest

from fincome_airflow.stage.hashing import (
    canonical_json,
    dumps_sorted,
    normalize_amount,
    payload_hash,
)


def test_payload_hash_is_the_same_when_amounts_differ_only_in_trailing_zeros() -> None:
    a = {"id": "I1", "net_amount": "10.5", "lines": [{"net_amount": "10.50", "quantity": "1"}]}
    b = {"lines": [{"quantity": "1.000", "net_amount": 10.5}], "net_amount": "10.50", "id": "I1"}
    assert payload_hash(a) == payload_hash(b)
    assert len(payload_hash(a)) == 64


def test_payload_hash_changes_when_a_cent_changes() -> None:
    assert payload_hash({"net_amount": "10.50"}) != payload_hash({"net_amount": "10.51"})


def test_canonical_json_sorts_keys_and_leaves_non_amounts_alone() -> None:
    assert canonical_json({"b": "010.0", "a": 1}) == '{"a":1,"b":"010.0"}'
    assert dumps_sorted({"net_amount": "1.00", "a": "é"}) == '{"a":"é","net_amount":"1.00"}'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.50", "10.5"),
        ("100.00", "100"),
        ("0.00", "0"),
        (100, "100"),
        ("-0", "0"),
        ("abc", "abc"),
        (None, None),
        (1e2, "100"),
    ],
)
def test_normalize_amount(value, expected) -> None:
    assert normalize_amount(value) == expected
