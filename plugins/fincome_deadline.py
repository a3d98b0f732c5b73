"""Registers the Fincome DAGs' Deadline Alert callback under the dotted path their alerts name,
``fincome_deadline.on_deadline_missed`` (:data:`fincome_airflow.deadline.alerts.CALLBACK_PATH`).

The callback is :func:`fincome_airflow.deadline.callback.on_deadline_missed`, in the installed
distribution; restart the triggerer after upgrading it.
"""

from __future__ import annotations

from fincome_airflow.deadline.callback import on_deadline_missed

__all__ = ["on_deadline_missed"]
