"""Canonical JSON of a payload and its stable SHA-256 hash.

Canonical means: keys sorted, no insignificant whitespace, and amounts normalized so that
``"10.5"``, ``"10.50"`` and ``10.5`` hash the same. The ledger compares these hashes to decide
whether a record changed since Fincome confirmed it, so every writer must hash through here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

#: Payload keys (at any depth) that hold decimal amounts or quantities.
AMOUNT_KEYS: Final = frozenset({"net_amount", "tax_amount", "monthly_value", "quantity"})


def normalize_amount(value: Any) -> Any:
    """Return ``value`` as a minimal decimal string (``"10.50"`` -> ``"10.5"``), or unchanged."""
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


def _normalized(value: Any, key: str | None = None) -> Any:
    if isinstance(value, Mapping):
        return {k: _normalized(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalized(v) for v in value]
    if key in AMOUNT_KEYS:
        return normalize_amount(value)
    return value


def dumps_sorted(payload: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys (the text staged and sent), values as given."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Compact, key-sorted JSON with normalized amounts: the text that is hashed."""
    return dumps_sorted(_normalized(payload))


def payload_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
