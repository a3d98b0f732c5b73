"""What the hook reports for one record sent, and how a request's final answer becomes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

from fincome_airflow.hooks.answers import AnswerClass, OutcomeKind

if TYPE_CHECKING:
    from fincome_airflow.hooks.retrying import FinalAnswer

#: Outcomes that mean Fincome now holds what we sent (or, for deletes, no longer holds it).
CONFIRMED_KINDS: Final = frozenset({"created", "updated", "deleted", "absent"})


@dataclass(frozen=True, slots=True)
class SendResult:
    """The result of sending one record: its outcome (``kind``, as the ledger's ``outcome``
    column stores it) and what it took; ``reason`` is scrubbed of secrets.

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


def send_result(
    resource: str, record_id: str, final: FinalAnswer, redact: Callable[[object], str]
) -> SendResult:
    """The record's result from the final answer to its upsert or delete."""
    verdict = final.verdict
    reason = None
    if verdict.answer_class is AnswerClass.SUCCESS:
        kind: OutcomeKind = verdict.kind or "updated"
    elif verdict.answer_class is AnswerClass.ABSENT:
        kind = "absent"
    elif verdict.answer_class is AnswerClass.REJECT:
        kind, reason = "rejected", redact(verdict.message)
    else:
        kind = "failed"
        reason = redact(f"failed after {final.attempts} attempts: {verdict.message}")
    return SendResult(
        resource=resource,
        record_id=record_id,
        kind=kind,
        http_status=verdict.http_status,
        reason=reason,
        attempts=final.attempts,
        retries=final.retries,
        rate_limited=final.rate_limited,
    )
