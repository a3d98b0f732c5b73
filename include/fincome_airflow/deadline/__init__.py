"""The SLA of the Fincome DAGs as Airflow 3 Deadline Alerts.

* :mod:`.alerts`: the DAG's ``deadline=`` (:func:`deadline_alerts`) and its settings;
* :mod:`.callback`: what the triggerer awaits when a run misses its deadline
  (``plugins/fincome_deadline.py`` registers it under :data:`.alerts.CALLBACK_PATH`).
"""

from __future__ import annotations

from fincome_airflow.deadline.alerts import deadline_alerts, parse_interval

__all__ = ["deadline_alerts", "parse_interval"]
