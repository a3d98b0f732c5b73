"""The load and delete loops behind the operators: stream a run's staged records of one
resource through the hook, record each result as it comes.

Kept apart from the operator classes so that they run (and are tested) without Airflow's task
machinery: a hook, a :class:`~fincome_airflow.state.ledger.Ledger` and a logger are all they
need.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from fincome_airflow.exceptions import FincomeLoadIncomplete
from fincome_airflow.load.send_counters import SendCounters, audit_numbers
from fincome_airflow.load.waves import waves
from fincome_airflow.state.ledger import Ledger, StagedRecord

if TYPE_CHECKING:
    from fincome_airflow.hooks.fincome import FincomeHook

UPSERT_KINDS = ("created", "updated", "rejected", "failed")
DELETE_KINDS = ("deleted", "absent", "rejected", "failed")


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
        the results and confirmations are already recorded, so a task retry resends only those.
    """
    started = time.monotonic()
    resource = ledger.resource
    audit: dict[str, Any] = {"resource": resource, "run_key": ledger.run_key, "dry_run": dry_run}
    staged = ledger.count_staged()
    if dry_run:
        plan = ledger.plan()
        audit.update(staged=staged, **plan, duration_s=round(time.monotonic() - started, 3))
        log.info("Dry run of %s: %s", resource, readable(plan))
        return audit

    to_send = ledger.count_to_send(full_resync=full_resync)
    log.info("Loading %s: %d staged, %d to send", resource, staged, to_send)
    hashes: dict[str, str | None] = {}

    def records(wave: Iterable[StagedRecord]) -> Iterator[tuple[str, str | None]]:
        for record in wave:
            hashes[record.record_id] = record.payload_hash
            yield record.record_id, record.payload

    counters = SendCounters(
        hook, UPSERT_KINDS, resource, to_send, log=log, interval=progress_interval
    )
    stopped = False
    with ledger.writer(batch_size=batch_size) as writer:
        for wave in waves(ledger, full_resync=full_resync):
            stopped = counters.stream(
                hook.upsert_many(resource, records(wave)),
                lambda result: writer.add(result, hashes.pop(result.record_id, None)),
            )
            if stopped:
                break
    counts = counters.counts
    if stopped:
        confirmed = counts["created"] + counts["updated"]
        raise counters.down.error(resource, "sends", confirmed, to_send)
    counters.summary(audit, started, staged=staged, to_send=to_send, unchanged=staged - to_send)
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
        log.info("Dry run of %s deletions: %s", resource, readable(audit))
        return audit

    log.info("Deleting %s: %d staged, %d known to Fincome", resource, staged, to_delete)
    counters = SendCounters(
        hook, DELETE_KINDS, f"{resource} deletions", to_delete, log=log, interval=progress_interval
    )
    with ledger.writer(batch_size=batch_size) as writer:
        stopped = counters.stream(hook.delete_many(resource, ledger.iter_to_delete()), writer.add)
    counts = counters.counts
    if stopped:
        raise counters.down.error(
            resource, "deletions", counts["deleted"] + counts["absent"], to_delete
        )
    counters.summary(
        audit, started, staged=staged, to_delete=to_delete, never_sent=staged - to_delete
    )
    if counts["failed"] and fail_on_failed:
        raise FincomeLoadIncomplete(
            f"{counts['failed']} of {to_delete} {resource} deletions failed after retries."
        )
    return audit


def readable(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in audit_numbers(counts).items())
