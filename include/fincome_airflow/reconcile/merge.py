"""A merge of two id-ordered streams: what the ERP calls for, and what Fincome holds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class OrderError(RuntimeError):
    """Fincome's list did not come ordered by id, so a streaming comparison is impossible."""


def merge_by_id(
    expected: Iterable[tuple[str, dict[str, Any]]],
    actual: Iterable[dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    """Merge two id-ordered streams into ``(id, want, have)`` triples."""
    exp, act = iter(expected), iter(actual)
    want = next(exp, None)
    have = next(act, None)
    last_actual = ""
    while want is not None or have is not None:
        if have is not None:
            if have["id"] < last_actual:
                raise OrderError(f"Fincome listed {have['id']!r} after {last_actual!r}")
            last_actual = have["id"]
        if have is None or (want is not None and want[0] < have["id"]):
            yield want[0], want[1], None
            want = next(exp, None)
        elif want is None or have["id"] < want[0]:
            yield have["id"], None, have
            have = next(act, None)
        else:
            yield want[0], want[1], have
            want, have = next(exp, None), next(act, None)
