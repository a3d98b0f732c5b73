"""The SLA of the Fincome DAGs as Airflow 3 Deadline Alerts (``DAG(deadline=deadline_alerts())``).

A run must finish within an interval (default 6 hours) of being queued; when it has not, the
triggerer awaits :func:`.callback.on_deadline_missed` (registered as
``fincome_deadline.on_deadline_missed`` by ``plugins/``), which logs the run's identity and
notifies through the webhook / SMTP connections named here.

Settings, read at parse time from the environment of the dag-processor (arguments win):

- ``FINCOME_DEADLINE_INTERVAL``: ``6h``, ``90m``, ``30s``, ``1d`` or bare seconds (default ``6h``).
- ``FINCOME_DEADLINE_HTTP_CONN_ID`` / ``FINCOME_DEADLINE_HTTP_ENDPOINT``: webhook (``http``
  connection) receiving a JSON message.
- ``FINCOME_DEADLINE_SMTP_CONN_ID`` / ``FINCOME_DEADLINE_EMAIL_TO`` (comma-separated) /
  ``FINCOME_DEADLINE_EMAIL_FROM``: e-mail through an ``smtp`` connection.
- ``FINCOME_DEADLINE_RECORD_PATH``: also append one JSON line per miss to this file.
- ``FINCOME_DEADLINE``: ``auto`` (default), ``on`` or ``off``.

``auto`` omits the deadline only while ``airflow dags test`` parses the DAG: Airflow 3.3.2's
``DAG.test()`` rebuilds the DAG in memory, so ``dag.deadline`` holds serialized alerts instead of
the UUIDs of their ``deadline_alert`` rows, and ``DagRun.update_state`` crashes when the run
succeeds (``DeadlineAlertModel.get_by_id`` → ``AttributeError: 'dict' object has no attribute
'hex'``). Python code calling ``dag.test()`` cannot be detected: set ``FINCOME_DEADLINE=off``.
``dags test`` also writes the DAG it parsed (so, without the deadline) to its metadata DB; the
dag-processor writes it back with the deadline at its next parse: use a development DB.

The interval is an environment setting rather than a ``VariableInterval``: Airflow 3.3.2 resolves
the latter inside ``create_dagrun`` and a missing Variable makes run creation fail.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

log = logging.getLogger(__name__)

#: Dotted path of the callback, the name ``plugins/fincome_deadline.py`` gives it: the path the
#: serialized DAGs and the deadlines already stored in the metadata DB hold, so it stays.
CALLBACK_PATH: Final = "fincome_deadline.on_deadline_missed"
DEFAULT_INTERVAL: Final = timedelta(hours=6)
ALERT_NAME: Final = "fincome_sla"

ENV_MODE: Final = "FINCOME_DEADLINE"
ENV_INTERVAL: Final = "FINCOME_DEADLINE_INTERVAL"
ENV_HTTP_CONN_ID: Final = "FINCOME_DEADLINE_HTTP_CONN_ID"
ENV_HTTP_ENDPOINT: Final = "FINCOME_DEADLINE_HTTP_ENDPOINT"
ENV_SMTP_CONN_ID: Final = "FINCOME_DEADLINE_SMTP_CONN_ID"
ENV_EMAIL_TO: Final = "FINCOME_DEADLINE_EMAIL_TO"
ENV_EMAIL_FROM: Final = "FINCOME_DEADLINE_EMAIL_FROM"
ENV_RECORD_PATH: Final = "FINCOME_DEADLINE_RECORD_PATH"

MODES: Final = ("auto", "on", "off")
_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_interval(
    value: str | timedelta, *, what: str = "Deadline interval", allow_zero: bool = False
) -> timedelta:
    """Turn ``"6h"``, ``"90m"``, ``"30s"``, ``"1d"`` or bare seconds into a timedelta.

    :param what: the setting's name, for the error message.
    :param allow_zero: accept ``0`` (a setting that can be switched off).
    :raise ValueError: unreadable, negative, or zero when ``allow_zero`` is false.
    """
    if isinstance(value, timedelta):
        interval = value
    else:
        match = _INTERVAL.match(value)
        if not match:
            raise ValueError(f"{what} {value!r}: expected e.g. '6h', '90m', '30s'")
        interval = timedelta(seconds=float(match[1]) * _UNITS[match[2].lower()])
    if interval < timedelta(0) or (interval == timedelta(0) and not allow_zero):
        raise ValueError(f"{what} must be positive, got {interval}")
    return interval


def is_dags_test_command(argv: Sequence[str]) -> bool:
    """Tell whether this process is ``airflow dags test ...`` (script or ``python -m airflow``)."""
    if len(argv) < 3:
        return False
    program = Path(argv[0])
    is_airflow = program.name == "airflow" or (
        program.name == "__main__.py" and program.parent.name == "airflow"
    )
    return is_airflow and list(argv[1:3]) == ["dags", "test"]


def deadline_enabled(
    environ: Mapping[str, str] | None = None, argv: Sequence[str] | None = None
) -> bool:
    """Apply ``FINCOME_DEADLINE`` (``auto``/``on``/``off``) to this process.

    :raise ValueError: unknown mode.
    """
    environ = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    mode = environ.get(ENV_MODE, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"{ENV_MODE}={mode!r}: expected one of {', '.join(MODES)}")
    if mode == "auto" and is_dags_test_command(argv):
        log.warning(
            "Deadline alerts omitted for `airflow dags test`: Airflow 3.3.2 crashes at the end of "
            "such a run on a DAG with a deadline (DeadlineAlertModel.get_by_id: 'dict' object has "
            "no attribute 'hex'). Scheduled runs keep the deadline; %s=on keeps it here too.",
            ENV_MODE,
        )
        return False
    return mode != "off"


def callback_kwargs(environ: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """Return the callback's kwargs: the ``FINCOME_DEADLINE_*`` settings, then ``overrides``.

    Unset values are left out, so the serialized DAG only carries what is configured.
    """
    environ = os.environ if environ is None else environ
    email_to = [a.strip() for a in environ.get(ENV_EMAIL_TO, "").split(",") if a.strip()]
    settings: dict[str, Any] = {
        "http_conn_id": environ.get(ENV_HTTP_CONN_ID),
        "http_endpoint": environ.get(ENV_HTTP_ENDPOINT),
        "smtp_conn_id": environ.get(ENV_SMTP_CONN_ID),
        "email_to": email_to or None,
        "email_from": environ.get(ENV_EMAIL_FROM),
        "record_path": environ.get(ENV_RECORD_PATH),
    }
    settings.update(overrides)
    if settings.get("smtp_conn_id") and not settings.get("email_to"):
        raise ValueError(f"{ENV_SMTP_CONN_ID} is set but {ENV_EMAIL_TO} is not")
    return {key: value for key, value in settings.items() if value}


def deadline_alerts(
    interval: str | timedelta | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    **notify: Any,
) -> list[DeadlineAlert]:
    """Build the DAG's ``deadline=``: finished within ``interval`` of being queued.

    :param interval: overrides ``FINCOME_DEADLINE_INTERVAL`` (default 6 hours).
    :param environ: settings to read instead of ``os.environ`` (tests).
    :param argv: command line to inspect instead of ``sys.argv`` (tests).
    :param notify: callback kwargs overriding the environment: ``http_conn_id``,
        ``http_endpoint``, ``smtp_conn_id``, ``email_to``, ``email_from``, ``record_path``.
    :return: one alert, or none under ``airflow dags test`` / ``FINCOME_DEADLINE=off``.
    :raise ValueError: a setting is invalid (the DAG then shows an import error).
    """
    environ = os.environ if environ is None else environ
    if interval is None:
        interval = environ.get(ENV_INTERVAL) or DEFAULT_INTERVAL
    alert = DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=parse_interval(interval),
        callback=AsyncCallback(CALLBACK_PATH, kwargs=callback_kwargs(environ, **notify)),
        name=ALERT_NAME,
    )
    return [alert] if deadline_enabled(environ, argv) else []
