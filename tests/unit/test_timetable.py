import pendulum
import pytest
from airflow.timetables.base import DataInterval
from airflow.utils.types import DagRunType

from fincome_airflow.timetable import MonthlyLoadTimetable

OCTOBER = DataInterval(pendulum.datetime(2026, 10, 1), pendulum.datetime(2026, 11, 1))
RUN_AFTER = pendulum.datetime(2026, 11, 1)


@pytest.fixture
def timetable() -> MonthlyLoadTimetable:
    return MonthlyLoadTimetable("0 0 1 * *", timezone="UTC")


@pytest.mark.parametrize(
    ("run_type", "prefix"),
    [
        pytest.param(DagRunType.SCHEDULED, "scheduled", id="scheduled"),
        pytest.param(DagRunType.BACKFILL_JOB, "backfill", id="backfill"),
    ],
)
def test_run_id_of_a_run_by_interval_names_the_month_it_loads(timetable, run_type, prefix):
    run_id = timetable.generate_run_id(
        run_type=run_type, run_after=RUN_AFTER, data_interval=OCTOBER
    )
    assert run_id == f"{prefix}__2026-10__2026-11-01T00:00:00+00:00"


def test_manual_run_keeps_airflows_id_its_month_is_in_the_conf(timetable):
    run_id = timetable.generate_run_id(
        run_type=DagRunType.MANUAL, run_after=RUN_AFTER, data_interval=OCTOBER
    )
    assert run_id == "manual__2026-11-01T00:00:00+00:00"


def test_timetable_survives_dag_serialization_through_the_plugin(timetable):
    import datetime as dt

    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("probe", schedule=timetable, start_date=dt.datetime(2024, 1, 1)) as dag:
        pass
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable
    assert isinstance(restored, MonthlyLoadTimetable)
    assert restored.generate_run_id(
        run_type=DagRunType.SCHEDULED, run_after=RUN_AFTER, data_interval=OCTOBER
    ).startswith("scheduled__2026-10__")
