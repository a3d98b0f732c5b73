"""Canonical JSON of a payload and its stable SHA-256 hash.

Canonical means: keys sorted, no insignificant whitespace, and amounts normalized so that
``"10.5"``, ``"10.50"`` and ``10.5`` hash the same. The ledger compares these hashes to decide
whether a record changed since Fincome confirmed it, so every writer must hash through here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from fincome_airflow.contract import AMOUNT_FIELDS

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


_NESTED = (dict, list, tuple)


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
    return dumps_sorted(_normalized(payload))


def payload_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`."""
    return text_hash(canonical_json(payload))


def text_hash(canonical: str) -> str:
    """SHA-256 (hex) of a text already produced by :func:`canonical_json`."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def canonical_with_hash(payload: Mapping[str, Any]) -> tuple[str, str]:
    """The canonical JSON of ``payload`` and its hash, serializing once."""
    canonical = canonical_json(payload)
    return canonical, text_hash(canonical)
