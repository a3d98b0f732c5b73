"""Exceptions raised by the Fincome hook and operators (chain them with ``raise ... from``)."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException


class FincomeError(AirflowException):
    """A Fincome call failed; Airflow may retry the task."""


class FincomeConfigError(AirflowFailException):
    """The connection is wrong (401/403, bad base URL, missing key): fail without any retry."""


class FincomeRequestError(FincomeError):
    """A single read or write failed after its retry budget, or got an unexpected answer."""


class FincomeLoadIncomplete(FincomeError):
    """Some records failed after retries; a task retry resends only those not yet confirmed."""


class FincomeApiUnavailable(FincomeLoadIncomplete):
    """Records in a row failed for their whole retry budget: the API is down; the load stopped."""


class FincomeStageIncomplete(AirflowFailException):
    """The run's extraction did not finish: what is staged is part of a month, never sent."""


class FincomeRunExpired(AirflowFailException):
    """The run can no longer resume (finished, superseded or past the resume window): its
    staged records are gone; a new run of the month does what a resumed one would."""


class FincomeBudgetUnavailable(FincomeError):
    """The store of the API budget shared by the workers cannot be reached: nothing is sent;
    Airflow may retry the task."""
