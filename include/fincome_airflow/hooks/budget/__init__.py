"""The request budget of the Fincome API and the per-record retry budget.

* :class:`RequestBudget` (:mod:`.local`): the budget of one process, shared by its threads;
  the default, enough for one machine running one task at a time.
* :class:`~fincome_airflow.hooks.budget.shared.SharedBudget` (:mod:`.shared`): one budget for every
  process of every worker, kept in Redis; chosen by the ``budget_store`` setting.
* :class:`RetryPolicy` (:mod:`.retry`): the delays between the attempts of one record.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from fincome_airflow.hooks.budget.local import Clock, RequestBudget, Sleep, start_window
from fincome_airflow.hooks.budget.retry import RetryPolicy

__all__ = [
    "Budget",
    "Clock",
    "RequestBudget",
    "RetryPolicy",
    "Sleep",
    "lease_seconds",
    "open_budget",
    "start_window",
]


class Budget(Protocol):
    """What the hook needs of a budget: a slot per request and a pause after a 429."""

    def slot(self) -> AbstractContextManager[None]: ...

    def pause(self, seconds: float) -> None: ...


def lease_seconds(timeout: float) -> float:
    """How long a shared slot outlives a holder that never gives it back (a killed worker):
    longer than any request can take (connect and read timeouts, then the body)."""
    return 2 * timeout + 30


def open_budget(
    store: str,
    name: str,
    rate: float,
    concurrency: int,
    *,
    timeout: float,
    clock: Clock,
    sleep: Sleep,
) -> Budget:
    """The in-process budget when ``store`` is empty, else the shared one at the ``store`` URL.

    :param name: what the budget belongs to (the API's base URL); processes share a budget
        when they use the same store and the same name.
    :raise FincomeBudgetUnavailable: when the shared budget's store cannot be reached.
    """
    if not store:
        return RequestBudget(rate, concurrency, clock=clock, sleep=sleep)
    from fincome_airflow.hooks.budget.shared import SharedBudget  # imports redis: only when used

    return SharedBudget.connect(
        store,
        name,
        rate,
        concurrency,
        lease_seconds=lease_seconds(timeout),
        clock=clock,
        sleep=sleep,
    )
