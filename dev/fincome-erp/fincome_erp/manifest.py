"""The manifest of one generation: what was written, and which records carry which defect."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fincome_erp.dirty import ALL_DIRTY_KINDS, EDGE_KINDS, DirtyKind

#: 2: the billing model's kinds moved from ``billing_dirty`` into ``dirty`` (the load checks them).
FORMAT_VERSION = 2


@dataclass
class Manifest:
    """Counts and planted records, JSON-ready (:meth:`to_dict`).

    Each entry of ``dirty[kind]`` / ``edge_cases[kind]`` is ``{"resource", "id"}`` plus, when
    it applies, ``month`` (billing month of an invoice), ``line_no`` (the line at fault) and
    ``duplicate_of`` (the clean original of a duplicate); a credit note's entry names its
    ``invoice_no``, and ``blocked_by`` when its invoice is rejected.
    """

    config: dict[str, Any]
    rows: Counter[str] = field(default_factory=Counter)
    invoices_by_month: Counter[str] = field(default_factory=Counter)
    invoices_by_status: Counter[str] = field(default_factory=Counter)
    contracts_by_status: Counter[str] = field(default_factory=Counter)
    credit_notes_by_status: Counter[str] = field(default_factory=Counter)
    dirty: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in ALL_DIRTY_KINDS}
    )
    edge_cases: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in EDGE_KINDS}
    )

    def add_dirty(self, kind: str, record_id: str, **extra: Any) -> None:
        entry = {"resource": ALL_DIRTY_KINDS[kind].resource, "id": record_id}
        entry.update(extra)
        self.dirty[kind].append(entry)

    def add_edge(self, kind: str, resource: str, record_id: str, **extra: Any) -> None:
        self.edge_cases[kind].append({"resource": resource, "id": record_id, **extra})

    def dirty_ids(self, resource: str) -> set[str]:
        """Ids of the ``resource`` records that carry a defect."""
        return {
            entry["id"]
            for kind, entries in self.dirty.items()
            if ALL_DIRTY_KINDS[kind].resource == resource
            for entry in entries
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "config": self.config,
            "rows": dict(self.rows),
            "invoices_by_month": dict(sorted(self.invoices_by_month.items())),
            "invoices_by_status": dict(sorted(self.invoices_by_status.items())),
            "contracts_by_status": dict(sorted(self.contracts_by_status.items())),
            "credit_notes_by_status": dict(sorted(self.credit_notes_by_status.items())),
            "dirty": _section(ALL_DIRTY_KINDS, self.dirty),
            "edge_cases": {
                name: {
                    "description": EDGE_KINDS[name],
                    "count": len(entries),
                    "records": entries,
                }
                for name, entries in self.edge_cases.items()
            },
        }

    def write(self, path: str | Path) -> Path:
        """Write the manifest as JSON (UTF-8, stable key order) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return path


def _section(
    kinds: dict[str, DirtyKind], planted: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """The manifest's entry of each kind: what it is, and the records that carry it."""
    return {
        name: {
            "resource": kind.resource,
            "outcome": kind.outcome,
            "reason": kind.reason,
            "consequences": list(kind.consequences),
            "field": kind.field,
            "description": kind.description,
            "count": len(planted[name]),
            "records": planted[name],
        }
        for name, kind in kinds.items()
    }
