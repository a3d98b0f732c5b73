"""Deadline Alert callback of the Fincome DAGs: log the missed deadline, then notify.

:func:`on_deadline_missed` is an ``AsyncCallback``: the triggerer imports it by the dotted path
the alerts name (:data:`.alerts.CALLBACK_PATH`, which ``plugins/fincome_deadline.py`` registers)
and awaits it with ``context={"dag_run": {...}, "deadline": {...}}`` plus the alert's kwargs.
The notifiers are the providers' own (``HttpNotifier``, ``SmtpNotifier``) and are chosen by
connection id; with none configured the callback only logs.

Restart the triggerer after changing this module: it never reloads the callback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger(__name__)

_HTTP_STATUS_MESSAGE = re.compile(r"^\d{3}:")

#: Keys of the run's identity, in the order they are logged and sent.
IDENTITY_KEYS = (
    "dag_id",
    "run_id",
    "run_type",
    "logical_date",
    "month",
    "queued_at",
    "state",
    "deadline_time",
    "deadline_id",
)


def describe_miss(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return the identity of the run that missed its deadline (JSON-ready, no run conf but month).

    :param context: what Airflow passes to deadline callbacks: ``dag_run`` (the REST API's
        DAG run, as JSON) and ``deadline`` (``id``, ``deadline_time``).
    """
    dag_run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    conf = dag_run.get("conf") or {}
    return {
        "dag_id": dag_run.get("dag_id"),
        "run_id": dag_run.get("dag_run_id") or dag_run.get("run_id"),
        "run_type": dag_run.get("run_type"),
        "logical_date": _text(dag_run.get("logical_date")),
        "month": conf.get("month") if isinstance(conf, Mapping) else None,
        "queued_at": _text(dag_run.get("queued_at")),
        "state": dag_run.get("state"),
        "deadline_time": _text(deadline.get("deadline_time")),
        "deadline_id": _text(deadline.get("id")),
    }


def summary_line(miss: Mapping[str, Any]) -> str:
    """One human sentence for a log line, a chat message or an e-mail subject."""
    month = f" (month {miss['month']})" if miss.get("month") else ""
    return (
        f"Airflow run {miss.get('run_id')} of {miss.get('dag_id')}{month} missed its deadline "
        f"{miss.get('deadline_time')}; state: {miss.get('state')}"
    )


def build_notifiers(
    miss: Mapping[str, Any],
    *,
    http_conn_id: str | None = None,
    http_endpoint: str | None = None,
    smtp_conn_id: str | None = None,
    email_to: str | list[str] | None = None,
    email_from: str | None = None,
) -> list[tuple[str, BaseNotifier]]:
    """Return ``(label, notifier)`` for every notifier the alert's kwargs configure.

    :raise ValueError: ``smtp_conn_id`` without ``email_to``.
    """
    notifiers: list[tuple[str, BaseNotifier]] = []
    text = summary_line(miss)
    if http_conn_id:
        from airflow.providers.http.notifications.http import HttpNotifier

        payload = {"event": "deadline_missed", "text": text, **miss}
        notifier = HttpNotifier(http_conn_id=http_conn_id, endpoint=http_endpoint, json=payload)
        notifiers.append((f"webhook {http_conn_id}", notifier))
    if smtp_conn_id:
        if not email_to:
            raise ValueError("smtp_conn_id is set but email_to is not: nobody to e-mail")
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        rows = "".join(f"<tr><th>{key}</th><td>{miss.get(key)}</td></tr>" for key in IDENTITY_KEYS)
        notifier = SmtpNotifier(
            to=email_to,
            from_email=email_from,
            subject=text,
            html_content=f"<p>{text}</p><table>{rows}</table>",
            smtp_conn_id=smtp_conn_id,
        )
        notifiers.append((f"e-mail {smtp_conn_id}", notifier))
    return notifiers


async def on_deadline_missed(
    context: dict[str, Any],
    *,
    http_conn_id: str | None = None,
    http_endpoint: str | None = None,
    smtp_conn_id: str | None = None,
    email_to: str | list[str] | None = None,
    email_from: str | None = None,
    record_path: str | None = None,
) -> str:
    """Log the missed deadline with the run's identity, record it, then notify.

    :param context: injected by Airflow (``dag_run``, ``deadline``).
    :param http_conn_id: an ``http`` connection: POST a JSON message to host + ``http_endpoint``.
    :param http_endpoint: path appended to the webhook connection's host.
    :param smtp_conn_id: an ``smtp`` connection: e-mail ``email_to`` (from ``email_from`` or the
        connection's ``from_email``).
    :param record_path: append one JSON line per miss to this file (local audit; used by tests).
    :return: the summary line, stored as the callback's output (a ``Text`` column: returning a
        dict makes the triggerer crash on the update).
    :raise RuntimeError: a configured notifier failed (after trying every notifier).
    """
    miss = describe_miss(context)
    log.warning(
        "Deadline missed: dag_id=%s run_id=%s logical_date=%s month=%s deadline=%s state=%s",
        miss["dag_id"],
        miss["run_id"],
        miss["logical_date"],
        miss["month"],
        miss["deadline_time"],
        miss["state"],
    )
    if record_path:
        await asyncio.to_thread(_append_json_line, Path(record_path), miss)
    notifiers = build_notifiers(
        miss,
        http_conn_id=http_conn_id,
        http_endpoint=http_endpoint,
        smtp_conn_id=smtp_conn_id,
        email_to=email_to,
        email_from=email_from,
    )
    if not notifiers:
        log.info("No deadline notifier configured (http_conn_id / smtp_conn_id): logged only")
    failed = []
    for label, notifier in notifiers:
        try:
            await notifier.async_notify(context)
        except Exception as exc:  # one failing channel must not silence the others
            log.error("Deadline notification through %s failed: %s", label, _safe_error(exc))
            failed.append(label)
        else:
            log.info("Deadline notification sent through %s", label)
    if failed:
        raise RuntimeError(f"Deadline notification failed through: {', '.join(failed)}")
    return summary_line(miss)


def _append_json_line(path: Path, record: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")


def _safe_error(exc: BaseException) -> str:
    """Exception type, plus the message only if it is an HTTP ``"<status>:<reason>"``.

    Other messages (and tracebacks) may carry the webhook URL, whose path is often its secret.
    """
    message = str(exc)
    if _HTTP_STATUS_MESSAGE.match(message):
        return f"{type(exc).__name__}: {message[:120]}"
    return type(exc).__name__


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
