"""The work behind the operators: stream staged records through the hook, record as it goes.

Kept apart from the operator classes so that it runs (and is tested) without Airflow's task
machinery: a hook, a :class:`~fincome_airflow.state.ledger.Ledger` and a logger are all it needs.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from typing import TYPE_CHECKING, Any

from fincome_airflow.exceptions import FincomeApiUnavailable, FincomeLoadIncomplete
from fincome_airflow.progress import Progress
from fincome_airflow.state.ledger import Ledger, StagedRecord

if TYPE_CHECKING:
    from fincome_airflow.hooks.fincome import FincomeHook
    from fincome_airflow.hooks.outcome import Outcome

#: A record of these resources may reference another record of the same resource.
SELF_REFERENCES = {"customers": "root_parent_id"}

UPSERT_KINDS = ("created", "updated", "rejected", "failed")
DELETE_KINDS = ("deleted", "absent", "rejected", "failed")


def _parent(record: StagedRecord, field: str) -> str | None:
    return json.loads(record.payload).get(field) if record.payload else None


def waves(ledger: Ledger, *, full_resync: bool) -> Iterator[Iterable[StagedRecord]]:
    """The records to send, in waves: a record whose parent (same resource) is sent in this
    run waits for a later wave, so Fincome has confirmed the parent when the child arrives.

    Resources without a self-reference are one streamed wave. Only held-back children are kept
    in memory (a customer hierarchy is a small share of the customers).
    """
    field = SELF_REFERENCES.get(ledger.resource)
    if field is None:
        yield ledger.iter_to_send(full_resync=full_resync)
        return
    unsent = {r.record_id for r in ledger.iter_to_send(full_resync=full_resync)}
    held: list[StagedRecord] = []

    def first_wave() -> Iterator[StagedRecord]:
        for record in ledger.iter_to_send(full_resync=full_resync):
            if _parent(record, field) in unsent:
                held.append(record)
            else:
                yield record

    yield first_wave()
    while held:
        unsent = {r.record_id for r in held}
        ready = [r for r in held if _parent(r, field) not in unsent] or held  # a cycle: send
        ready_ids = {r.record_id for r in ready}
        held = [r for r in held if r.record_id not in ready_ids]
        yield ready


class DownDetector:
    """Tell when the API is down: ``limit`` records in a row failed after their whole retry
    budget, none confirmed in between. The load then stops (the rest would only fail the same
    way, one retry budget each) and the task fails saying so; a task retry resumes."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.streak = 0
        self.last_reason: str | None = None

    def down_after(self, outcome: Outcome) -> bool:
        if outcome.kind == "failed":
            self.streak += 1
            self.last_reason = outcome.reason
        else:
            self.streak = 0
        return self.streak >= self.limit

    def error(
        self, resource: str, action: str, confirmed: int, total: int
    ) -> FincomeApiUnavailable:
        return FincomeApiUnavailable(
            f"Fincome API unavailable: the last {self.streak} {resource} {action} each failed "
            f"for the whole retry budget ({self.last_reason}); stopped with {confirmed} of "
            f"{total} confirmed. Confirmed records are recorded and will not be resent; the "
            "task retries."
        )


def _down_limit(hook: FincomeHook) -> int:
    return 2 * hook.settings.max_concurrency


def _http_counts(hook: FincomeHook, before: dict[str, int]) -> dict[str, int]:
    after = hook.stats()
    return {
        "requests": after["requests"] - before["requests"],
        "retries": after["retries"] - before["retries"],
        "rate_limited": after["rate_limited"] - before["rate_limited"],
    }


class _Tally:
    """One streamed send of a resource: counts per outcome kind, progress, the down detector,
    the HTTP counts since it began; shared by :func:`load_resource` and
    :func:`delete_resource`."""

    def __init__(
        self,
        hook: FincomeHook,
        kinds: Iterable[str],
        label: str,
        total: int,
        *,
        log: logging.Logger | logging.LoggerAdapter,
        interval: float,
    ) -> None:
        self.hook = hook
        self.counts: Counter[str] = Counter({k: 0 for k in kinds})
        self.before = hook.stats()
        self.progress = Progress(label, total, log=log, interval=interval)
        self.down = DownDetector(_down_limit(hook))

    def stream(self, outcomes: Iterator[Outcome], record: Callable[[Outcome], None]) -> bool:
        """Record (``record``) and count each outcome, closing ``outcomes`` at the end.

        :return: True when the API is down (the stream was left early), else False.
        """
        with closing(outcomes):
            for outcome in outcomes:
                record(outcome)
                self.counts[outcome.kind] += 1
                self.progress.advance()
                if self.down.down_after(outcome):
                    return True
        return False

    def summary(self, audit: dict[str, Any], started: float, **numbers: int) -> None:
        """Complete ``audit`` (``numbers``, the counts, duration, HTTP counts) and log it."""
        audit.update(
            **numbers,
            **self.counts,
            duration_s=round(time.monotonic() - started, 3),
            **_http_counts(self.hook, self.before),
        )
        self.progress.summary(_numbers(audit))


def load_resource(
    hook: FincomeHook,
    ledger: Ledger,
    *,
    log: logging.Logger | logging.LoggerAdapter,
    full_resync: bool = False,
    dry_run: bool = False,
    fail_on_failed: bool = True,
    progress_interval: float = 10.0,
    batch_size: int = 200,
) -> dict[str, Any]:
    """Send the run's staged upserts of one resource that differ from the ledger.

    :return: the audit dict (counts per outcome, unchanged, duration_s, requests, retries,
        rate_limited).
    :raise FincomeLoadIncomplete: when records failed after retries and ``fail_on_failed``;
        the outcomes and confirmations are already recorded, so a task retry resends only those.
    """
    started = time.monotonic()
    resource = ledger.resource
    audit: dict[str, Any] = {"resource": resource, "run_key": ledger.run_key, "dry_run": dry_run}
    staged = ledger.count_staged()
    if dry_run:
        plan = ledger.plan()
        audit.update(staged=staged, **plan, duration_s=round(time.monotonic() - started, 3))
        log.info("Dry run of %s: %s", resource, _readable(plan))
        return audit

    to_send = ledger.count_to_send(full_resync=full_resync)
    log.info("Loading %s: %d staged, %d to send", resource, staged, to_send)
    hashes: dict[str, str | None] = {}

    def records(wave: Iterable[StagedRecord]) -> Iterator[tuple[str, str | None]]:
        for record in wave:
            hashes[record.record_id] = record.payload_hash
            yield record.record_id, record.payload

    tally = _Tally(hook, UPSERT_KINDS, resource, to_send, log=log, interval=progress_interval)
    stopped = False
    with ledger.writer(batch_size=batch_size) as writer:
        for wave in waves(ledger, full_resync=full_resync):
            stopped = tally.stream(
                hook.upsert_many(resource, records(wave)),
                lambda outcome: writer.add(outcome, hashes.pop(outcome.record_id, None)),
            )
            if stopped:
                break
    counts = tally.counts
    if stopped:
        confirmed = counts["created"] + counts["updated"]
        raise tally.down.error(resource, "sends", confirmed, to_send)
    tally.summary(audit, started, staged=staged, to_send=to_send, unchanged=staged - to_send)
    if counts["failed"] and fail_on_failed:
        raise FincomeLoadIncomplete(
            f"{counts['failed']} of {to_send} {resource} failed after retries; "
            "confirmed records are recorded and will not be resent."
        )
    return audit


def delete_resource(
    hook: FincomeHook,
    ledger: Ledger,
    *,
    log: logging.Logger | logging.LoggerAdapter,
    dry_run: bool = False,
    fail_on_failed: bool = True,
    progress_interval: float = 10.0,
    batch_size: int = 200,
) -> dict[str, Any]:
    """Delete the run's staged deletions that the ledger shows as sent (404 = already gone)."""
    started = time.monotonic()
    resource = ledger.resource
    staged = ledger.count_staged("delete")
    to_delete = ledger.count_to_delete()
    audit: dict[str, Any] = {"resource": resource, "run_key": ledger.run_key, "dry_run": dry_run}
    if dry_run:
        audit.update(
            staged=staged,
            would_delete=to_delete,
            never_sent=staged - to_delete,
            duration_s=round(time.monotonic() - started, 3),
        )
        log.info("Dry run of %s deletions: %s", resource, _readable(audit))
        return audit

    log.info("Deleting %s: %d staged, %d known to Fincome", resource, staged, to_delete)
    tally = _Tally(
        hook, DELETE_KINDS, f"{resource} deletions", to_delete, log=log, interval=progress_interval
    )
    with ledger.writer(batch_size=batch_size) as writer:
        stopped = tally.stream(hook.delete_many(resource, ledger.iter_to_delete()), writer.add)
    counts = tally.counts
    if stopped:
        raise tally.down.error(
            resource, "deletions", counts["deleted"] + counts["absent"], to_delete
        )
    tally.summary(audit, started, staged=staged, to_delete=to_delete, never_sent=staged - to_delete)
    if counts["failed"] and fail_on_failed:
        raise FincomeLoadIncomplete(
            f"{counts['failed']} of {to_delete} {resource} deletions failed after retries."
        )
    return audit


def _numbers(audit: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in audit.items() if isinstance(v, int | float) and type(v) is not bool}


def _readable(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in _numbers(counts).items())
