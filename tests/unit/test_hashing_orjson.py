"""The orjson path of the canonical JSON writes json's bytes, whatever the payload holds."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fincome_airflow.contract import AMOUNT_FIELDS
from fincome_airflow.stage.hashing import (
    _fast_canonical,
    _normalized,
    canonical_json,
    canonical_with_hash,
    canonical_with_hash_of_plain,
    dumps_sorted,
    text_hash,
)

keys = st.sampled_from(sorted(AMOUNT_FIELDS)) | st.text(max_size=12)
amounts = st.one_of(
    st.decimals(allow_nan=False, places=3).map(str),
    st.decimals(allow_nan=True).map(str),
    st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,4})?", fullmatch=True),
    st.integers(),
    st.floats(),
    st.decimals(),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(),
    st.text(),
    amounts,
)
trees = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(keys, inner, max_size=5)
    ),
    max_leaves=25,
)
payloads = st.dictionaries(keys, trees, max_size=8)


def reference(payload: dict) -> str:
    """The canonical JSON as main wrote it: json.dumps of the normalized payload."""
    return dumps_sorted(_normalized(payload))


@settings(max_examples=600, deadline=None)
@given(payloads)
def test_canonical_json_is_the_json_module_text_for_any_payload(payload) -> None:
    try:
        expected = reference(payload)
    except (TypeError, ValueError) as exc:  # e.g. a Decimal leaf json cannot write
        assert _fast_canonical(payload) is None, exc
        return
    assert canonical_json(payload) == expected
    try:
        digest = text_hash(expected)
    except UnicodeEncodeError:  # a lone surrogate: neither path can hash it
        return
    assert canonical_with_hash(payload) == (expected, digest)


names = st.text(max_size=12).filter(lambda k: k not in AMOUNT_FIELDS)
plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
    max_leaves=20,
)
plain_payloads = st.tuples(
    st.dictionaries(names, plain, max_size=8),
    st.dictionaries(
        st.sampled_from(sorted(AMOUNT_FIELDS)), amounts.filter(lambda a: isinstance(a, str))
    ),
).map(lambda parts: {**parts[0], **parts[1]})


@settings(max_examples=400, deadline=None)
@given(plain_payloads)
def test_plain_payloads_take_the_orjson_path_with_the_same_bytes(payload) -> None:
    try:
        expected = reference(payload).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: left to json, which cannot encode it
        assert _fast_canonical(payload) is None
        return
    assert _fast_canonical(payload) == expected


def test_a_mapped_invoice_takes_the_orjson_path() -> None:
    payload = {
        "id": "I-1",
        "net_amount": "100.00",
        "lines": [{"id": "1", "quantity": "1", "net_amount": "100.00", "custom_properties": {}}],
        "custom_properties": {},
        "customer_id": 'Zoë \\ "quoted" \u2028',
    }
    assert _fast_canonical(payload) == reference(payload).encode("utf-8")


def test_objects_json_cannot_write_are_not_written_by_orjson_either() -> None:
    assert _fast_canonical({"a": Decimal("1.5")}) is None
    assert _fast_canonical({"a": 1.5}) is None  # floats: json's text is json's own


plain_leaves = st.text() | st.sampled_from(["0.00", "10.50", "1250.00", "1.5", "0.001", "1E+2"])
plain_dicts = st.dictionaries(keys, plain_leaves, max_size=6).map(
    lambda d: d | {"custom_properties": {}}
)
plain_payloads = st.builds(
    lambda top, lines: top | ({"lines": lines} if lines is not None else {}),
    plain_dicts,
    st.none() | st.lists(plain_dicts, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(plain_payloads)
def test_canonical_of_a_plain_payload_is_the_canonical_of_the_walk(payload) -> None:
    assert canonical_with_hash_of_plain(payload) == canonical_with_hash(payload)
