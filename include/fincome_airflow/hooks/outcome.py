"""What the hook reports for one record."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

from fincome_airflow.errors import OutcomeKind

#: Kinds that mean Fincome now holds what we sent (or, for deletes, no longer holds it).
CONFIRMED_KINDS: Final = frozenset({"created", "updated", "deleted", "absent"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of sending one record; ``reason`` is scrubbed of secrets.

    ``attempts`` counts requests sent for this record, ``retries`` those after the first, and
    ``rate_limited`` the 429 answers among them.
    """

    resource: str
    record_id: str
    kind: OutcomeKind
    http_status: int | None = None
    reason: str | None = None
    attempts: int = 1
    retries: int = 0
    rate_limited: int = 0

    @property
    def confirmed(self) -> bool:
        return self.kind in CONFIRMED_KINDS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
