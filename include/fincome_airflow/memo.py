"""Bounded memos of the extraction's hot paths: plain dicts read by the caller (cheaper than
``functools.lru_cache`` on a hit), filled through :func:`remember` on a miss."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V, size: int) -> V:
    """Store ``value`` under ``key`` and return it; a memo holding ``size`` entries is emptied
    first (a month repeats a few thousand values: starting over costs less than an LRU)."""
    if len(memo) >= size:
        memo.clear()
    memo[key] = value
    return value
