"""Where the CSV reports go (``FINCOME_REPORTS_URL``) and how ``prepare`` refuses a location
that cannot be used, before anything is sent."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from fincome_airflow.reports.location import (
    ReportsLocationError,
    ReportsUnwritable,
    check_reports_location,
    report_path,
    reports_url,
)
from fincome_airflow.tasks.prepare import prepare_run


@pytest.fixture(autouse=True)
def no_reports_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("FINCOME_REPORTS_URL", raising=False)
    monkeypatch.delenv("FINCOME_REPORTS_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))


class Dag:
    dag_id = "fincome_monthly_load"


def prepare(month: str = "2026-10") -> dict:
    return prepare_run({"params": {"month": month}, "dag": Dag(), "run_id": "manual__r1"})


def test_reports_go_to_a_folder_of_airflow_home_by_default(tmp_path):
    assert reports_url() == (tmp_path / "home" / "fincome_reports").as_uri()


def test_the_earlier_reports_dir_setting_is_still_read_as_a_local_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("FINCOME_REPORTS_DIR", str(tmp_path / "old"))
    assert reports_url() == (tmp_path / "old").as_uri()


def test_the_reports_url_wins_over_the_earlier_reports_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("FINCOME_REPORTS_DIR", str(tmp_path / "old"))
    monkeypatch.setenv("FINCOME_REPORTS_URL", "s3://aws_reports@finance/fincome")
    assert reports_url() == "s3://aws_reports@finance/fincome"


def test_a_report_path_is_named_after_the_run_under_the_reports_url(monkeypatch, tmp_path):
    monkeypatch.setenv("FINCOME_REPORTS_URL", (tmp_path / "r").as_uri())
    path = report_path("fincome_monthly_load/manual__2026-11-01T00:00:00+00:00", "rejects")
    assert str(path) == (
        (tmp_path / "r").as_uri()
        + "/fincome_monthly_load_manual__2026-11-01T00_00_00_00_00_rejects.csv"
    )
    assert (tmp_path / "r").is_dir()  # a local folder is created where the worker writes


def test_the_check_writes_nothing_that_stays_in_a_writable_folder(tmp_path):
    url = (tmp_path / "shared" / "reports").as_uri()
    assert check_reports_location(url) == url
    assert list((tmp_path / "shared" / "reports").iterdir()) == []


def test_an_unknown_scheme_is_refused_naming_it():
    with pytest.raises(ReportsLocationError, match="scheme 'nosuchfs'"):
        check_reports_location("nosuchfs://bucket/reports")


def test_a_scheme_without_its_provider_is_refused_naming_the_provider_to_install():
    # This venv has no Amazon provider: Airflow has no filesystem registered for s3.
    with pytest.raises(ReportsLocationError) as refused:
        check_reports_location("s3://aws_reports@finance/fincome")
    message = str(refused.value)
    assert "apache-airflow-providers-amazon" in message
    assert "aws_reports" not in message  # the URL's user part is left out of messages


def test_a_folder_that_cannot_be_created_is_reported_unwritable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ReportsUnwritable, match="cannot create the folder"):
        check_reports_location((blocker / "reports").as_uri())


def test_prepare_fails_without_retry_on_a_misconfigured_reports_url(monkeypatch):
    monkeypatch.setenv("FINCOME_REPORTS_URL", "gs://finance/fincome")
    with pytest.raises(AirflowFailException, match="apache-airflow-providers-google") as failed:
        prepare()
    assert "nothing sent" in str(failed.value)


def test_prepare_fails_with_a_retry_when_the_reports_location_is_unwritable(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FINCOME_REPORTS_URL", (blocker / "reports").as_uri())
    with pytest.raises(AirflowException, match="cannot create the folder") as failed:
        prepare()
    assert not isinstance(failed.value, AirflowFailException)


def test_prepare_plans_the_run_once_the_reports_location_is_writable(monkeypatch, tmp_path):
    monkeypatch.setenv("FINCOME_REPORTS_URL", (tmp_path / "reports").as_uri())
    plan = prepare()
    assert plan["run_key"] == "fincome_monthly_load/manual__r1"
    assert plan["month"] == "2026-10"


def test_a_refused_location_is_named_with_the_setting_it_came_from(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FINCOME_REPORTS_DIR", str(blocker / "reports"))
    with pytest.raises(ReportsUnwritable, match=r"^FINCOME_REPORTS_DIR \(file://"):
        check_reports_location()
