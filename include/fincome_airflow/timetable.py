"""The monthly DAG's timetable: Airflow's monthly data intervals, with the month in the run id.

A scheduled (or backfill) run of the October interval is called
``scheduled__2026-10__2026-11-01T00:00:00+00:00``: the grid and the run list show which month
each run loads without opening it. Registered by the ``fincome`` plugin (custom timetables
must be); manual runs keep Airflow's ids (their month is in their conf).
"""

from __future__ import annotations

from typing import Any

from airflow.timetables.base import DataInterval
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.utils.types import DagRunType

#: Run types whose data interval is the month they load.
_BY_INTERVAL = (DagRunType.SCHEDULED, DagRunType.BACKFILL_JOB)


class MonthlyLoadTimetable(CronDataIntervalTimetable):
    """``CronDataIntervalTimetable`` whose run ids carry the billing month (``YYYY-MM``)."""

    description = "Monthly: the run after each month loads that month"

    def generate_run_id(
        self,
        *,
        run_type: DagRunType,
        run_after: Any,
        data_interval: DataInterval | None,
        **extra: Any,
    ) -> str:
        if data_interval is None or run_type not in _BY_INTERVAL:
            return super().generate_run_id(
                run_type=run_type, run_after=run_after, data_interval=data_interval, **extra
            )
        month = data_interval.start.strftime("%Y-%m")
        return run_type.generate_run_id(suffix=f"{month}__{run_after.isoformat()}")

    def __eq__(self, other: object) -> bool:
        """Same schedule: expression and timezone.

        Airflow's own comparison imports ``airflow.serialization.encoders`` (about 200 ms), and
        mapping a task inside a task group compares the DAG, hence its timetable: at DAG parse.
        """
        if not isinstance(other, MonthlyLoadTimetable):
            return NotImplemented
        return self._expression == other._expression and self._timezone == other._timezone

    __hash__ = CronDataIntervalTimetable.__hash__
