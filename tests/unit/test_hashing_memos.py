"""The plain payloads' hashing: the remembered amount texts and the copied SHA-256 state give
what computing afresh gives, and the memo stays bounded."""

from __future__ import annotations

import hashlib

import pytest

from fincome_airflow.stage import hashing
from fincome_airflow.stage.hashing import (
    canonical_with_hash,
    canonical_with_hash_of_plain,
    normalize_amount,
)

AMOUNTS = ["10.50", "10.5", "10.500", "0.00", "-0.00", "-1.00", "1E+2", "007", "abc", "", " 1"]


@pytest.mark.parametrize("data", [b"", b"a", b"{}" * 40, "été".encode() * 500])
def test_the_hash_is_the_sha256_hex_digest(data: bytes) -> None:
    assert hashing._sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert hashing._sha256_hex(data) == hashing._sha256_hex(data)  # the empty state stays empty


def test_a_remembered_amount_text_gives_the_walks_canonical_text_and_hash() -> None:
    hashing._NORMAL_TEXT.clear()
    payloads = [
        {"id": "I1", "net_amount": a, "lines": [{"id": "1", "quantity": b, "net_amount": a}]}
        for a in AMOUNTS
        for b in reversed(AMOUNTS)
    ]
    for _ in range(2):  # amounts seen afresh, then remembered
        for payload in payloads:
            assert canonical_with_hash_of_plain(payload) == canonical_with_hash(payload)
    assert {a: normalize_amount(a) for a in AMOUNTS} == hashing._NORMAL_TEXT


def test_the_amount_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "_NORMAL_TEXT_SIZE", 8)
    hashing._NORMAL_TEXT.clear()
    for cents in range(100):
        payload = {"id": "S1", "monthly_value": f"{cents}.{cents % 10}0"}
        assert canonical_with_hash_of_plain(payload) == canonical_with_hash(payload)
        assert len(hashing._NORMAL_TEXT) <= 8
