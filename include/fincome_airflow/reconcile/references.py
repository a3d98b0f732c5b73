"""Which records a comparison reaches through references (``contract.REFERENCES``), and in
which order resources are compared so that every resource's referenced ids are known first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fincome_airflow.contract import REFERENCES

#: Ids to compare, by resource.
References = dict[str, set[str]]


def note_references(resource: str, payload: Mapping[str, Any], into: References) -> None:
    """Add the ids that ``payload`` (a record of ``resource``) names to ``into``."""
    for field, target in REFERENCES.get(resource, ()):
        value = payload.get(field)
        if value:
            into.setdefault(target, set()).add(value)


def self_references(resource: str) -> tuple[str, ...]:
    """The fields by which a record of ``resource`` names another of the same resource."""
    return tuple(f for f, target in REFERENCES.get(resource, ()) if target == resource)


def referrers_first(resources: Iterable[str]) -> list[str]:
    """``resources`` ordered so that each comes after every resource that references it.

    :raise ValueError: when references between different resources loop (the contract has none).
    """
    left = list(dict.fromkeys(resources))
    ordered: list[str] = []
    while left:
        ready = [
            r
            for r in left
            if not any(
                target == r and other != r
                for other in left
                for _, target in REFERENCES.get(other, ())
            )
        ]
        if not ready:
            raise ValueError(f"references loop between {left}")
        ordered += ready
        left = [r for r in left if r not in ready]
    return ordered
