"""Canonical JSON of a payload and its stable SHA-256 hash.

Canonical means: keys sorted, no insignificant whitespace, and amounts normalized so that
``"10.5"``, ``"10.50"`` and ``10.5`` hash the same. The ledger compares these hashes to decide
whether a record changed since Fincome confirmed it, so every writer must hash through here.

The text is :func:`json.dumps`'s (sorted keys, compact, ``ensure_ascii=False``). A payload made
only of dicts, lists and tuples of ``str``, ``int``, ``bool`` and ``None`` (every mapped
payload) is encoded by orjson, which gives the same bytes for those types
(``tests/unit/test_hashing_orjson.py`` proves it) several times faster; anything else (floats,
subclasses, other objects) goes through :mod:`json` itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final

import orjson

from fincome_airflow.contract import AMOUNT_FIELDS
from fincome_airflow.memo import remember

_PLAIN_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?(\.?0*)$")


def normalize_amount(value: Any) -> Any:
    """Return ``value`` as a minimal decimal string (``"10.50"`` -> ``"10.5"``), or unchanged."""
    if isinstance(value, str):
        plain = _PLAIN_DECIMAL.match(value)  # the common case, without Decimal arithmetic
        if plain:
            return plain.group(1) + (plain.group(2) or "")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(value) if isinstance(value, (str, int, Decimal)) else None
    except (InvalidOperation, ValueError):
        return value
    if number is None or not number.is_finite():
        return value
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


@lru_cache(maxsize=1 << 14)
def _normalized_text(value: str) -> Any:
    """:func:`normalize_amount` of a text (amounts repeat: their forms are remembered)."""
    return normalize_amount(value)


#: The amount fields, to look each up in a payload (faster than a set intersection per payload).
_AMOUNT_KEYS: Final = tuple(sorted(AMOUNT_FIELDS))
_NESTED = (dict, list, tuple)
#: Leaf types whose orjson text is json's (exact types: a subclass may render differently).
_PLAIN: Final = frozenset({str, int, bool, type(None)})
_SORTED: Final = orjson.OPT_SORT_KEYS


class _NotPlain(Exception):
    """A value the fast path leaves to :mod:`json`."""


def _plain_normalized(value: Any) -> Any:
    """:func:`_normalized` of a tree of plain types, or :class:`_NotPlain`."""
    kind = type(value)
    if kind is dict:
        out = {}
        for k, v in value.items():
            t = type(v)
            if k in AMOUNT_FIELDS:
                v = _normalized_text(v) if t is str else normalize_amount(v)
                if type(v) not in _PLAIN:
                    raise _NotPlain
            elif t is str:  # the common case first
                pass
            elif t is dict or t is list or t is tuple:
                v = _plain_normalized(v)
            elif t not in _PLAIN:
                raise _NotPlain
            out[k] = v
        return out
    if kind is list or kind is tuple:
        return [
            _plain_normalized(v) if type(v) in (dict, list, tuple) else _plain_leaf(v)
            for v in value
        ]
    raise _NotPlain


def _plain_leaf(value: Any) -> Any:
    if type(value) not in _PLAIN:
        raise _NotPlain
    return value


def _normalized(value: Any) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return {
            k: normalize_amount(v)
            if k in AMOUNT_FIELDS
            else (_normalized(v) if isinstance(v, _NESTED) else v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_normalized(v) if isinstance(v, _NESTED) else v for v in value]
    return value


def dumps_sorted(payload: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys (the text staged and sent), values as given."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Compact, key-sorted JSON with normalized amounts: the text that is hashed."""
    fast = _fast_canonical(payload)
    return fast.decode("utf-8") if fast is not None else dumps_sorted(_normalized(payload))


def _fast_canonical(payload: Mapping[str, Any]) -> bytes | None:
    """:func:`canonical_json` in UTF-8 by orjson, or None when json must write it."""
    try:
        return orjson.dumps(_plain_normalized(payload), option=_SORTED)
    except (_NotPlain, TypeError):  # orjson.JSONEncodeError is a TypeError
        return None


def canonical_with_hash_of_plain(payload: Mapping[str, Any]) -> tuple[str, str]:
    """:func:`canonical_with_hash` of a payload known to be plain: every leaf an exact ``str``,
    amounts only at the top and in the dicts of ``lines`` (what the mapping's fast lane
    builds), so only the amounts are visited."""
    out = _plain_amounts(payload)
    lines = out.get("lines")
    if lines:
        out["lines"] = [_plain_amounts(line) for line in lines]
    fast = orjson.dumps(out, option=_SORTED)
    return fast.decode("utf-8"), _sha256_hex(fast)


def _plain_amounts(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``payload`` with its amounts (exact ``str``) normalized."""
    out = dict(payload)
    for key in _AMOUNT_KEYS:
        value = out.get(key)
        if value is not None:  # (None stays None: normalize_amount keeps it)
            out[key] = _NORMAL_TEXT.get(value) or remember(
                _NORMAL_TEXT, value, normalize_amount(value), _NORMAL_TEXT_SIZE
            )
    return out


#: :func:`normalize_amount` of the amounts' texts seen (a month repeats them), at most
#: :data:`_NORMAL_TEXT_SIZE` (:mod:`fincome_airflow.memo`).
_NORMAL_TEXT: dict[str, Any] = {}
_NORMAL_TEXT_SIZE: Final = 1 << 14


#: An empty SHA-256 state: copying it is cheaper than making one per hash.
_SHA256: Final = hashlib.sha256()


def _sha256_hex(data: bytes) -> str:
    """``hashlib.sha256(data).hexdigest()``, from a copy of an empty state (``digest().hex()``
    is the same text, without ``hexdigest``'s own copy of the state)."""
    state = _SHA256.copy()
    state.update(data)
    return state.digest().hex()


def payload_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`."""
    return text_hash(canonical_json(payload))


def text_hash(canonical: str) -> str:
    """SHA-256 (hex) of a text already produced by :func:`canonical_json`."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def canonical_with_hash(payload: Mapping[str, Any]) -> tuple[str, str]:
    """The canonical JSON of ``payload`` and its hash, serializing once."""
    fast = _fast_canonical(payload)
    if fast is not None:
        return fast.decode("utf-8"), _sha256_hex(fast)
    canonical = dumps_sorted(_normalized(payload))
    return canonical, text_hash(canonical)
