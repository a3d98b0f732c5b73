"""What validation decides for each record; staging writes these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from fincome_airflow.contract import Resource
from fincome_airflow.reasons import Problem

Kind = Literal["stage", "delete", "skip", "reject"]


@dataclass(slots=True)
class Decision:
    """One record's fate: staged for upsert, staged for delete, skipped, or refused."""

    resource: Resource
    record_id: str
    kind: Kind
    payload: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    currency: str | None = None
    net_amount: Decimal | None = None
    updated_at: Any = None
    #: The payload's leaves are exact ``str`` (see ``transform.mapping.Mapped.plain``).
    plain: bool = False
    #: An invoice's billing month ``YYYY-MM`` (from its ERP date; ``None`` when unreadable).
    month: str | None = None

    @property
    def outcome(self) -> str:
        """``rejected``/``blocked`` for refused records (blocked only if every reason is)."""
        if self.kind != "reject":
            return self.kind
        return "blocked" if all(p.outcome == "blocked" for p in self.problems) else "rejected"
