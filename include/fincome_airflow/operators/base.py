"""What the Fincome operators share: connections, template fields, hook and store properties."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from fincome_airflow.contract import RESOURCES
from fincome_airflow.lineage import DEFAULT_ERP_CONN_ID
from fincome_airflow.provider_info import DEFAULT_CONN_ID, DEFAULT_STATE_CONN_ID

# What only ``execute`` needs is imported there: the DAG file imports the operators at parse
# time, and the hook (requests, aiohttp) and the state store (SQLAlchemy tables, the ledger)
# would add tens of milliseconds to every parse.
if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from fincome_airflow.hooks.fincome import FincomeHook
    from fincome_airflow.state.ledger import Ledger
    from fincome_airflow.state.store import StateStore

#: Share of ``execution_timeout`` that one record's retries may take at most.
RETRY_SHARE_OF_TIMEOUT = 0.5

#: Lease of a month lock when the task has no ``execution_timeout``.
DEFAULT_LOCK_LEASE = timedelta(hours=6)


class FincomeBaseOperator(BaseOperator):
    """Base of the Fincome operators; no I/O before ``execute``.

    :param resource: ``customers``, ``subscriptions`` or ``invoices``.
    :param run_key: the key under which the records were staged (templated).
    :param month: the billing month ``YYYY-MM``, for the audit (templated).
    :param dry_run: count what would be sent, send nothing (templated).
    :param enabled: when false the task sends nothing and returns ``{"skipped": True, ...}``;
        it succeeds rather than skips, so downstream loads are not skipped with it (templated).
    :param fail_on_failed: fail the task when records failed after their retries (rejected
        records never fail the task: they are data defects, recorded per record).
    :param progress_interval: seconds between progress lines in the task log.
    :param chunk: the part of the staged records this task sends (a chunk planned by
        :func:`fincome_airflow.load.chunks.plan_chunks`, given by ``.expand(chunk=...)``); ``None``
        sends them all. A chunk leaves the month lock held for the run's other chunks.
    :param fincome_conn_id: the ``fincome`` connection.
    :param state_conn_id: the state database connection.
    :param erp_conn_id: the ERP connection the records were extracted from (for OpenLineage:
        the task reports the ERP tables of its resource as inputs).
    """

    template_fields: Sequence[str] = (
        "resource",
        "run_key",
        "month",
        "fincome_conn_id",
        "state_conn_id",
        "erp_conn_id",
        "dry_run",
        "enabled",
    )
    #: The mapped instance's name in the UI, e.g. ``invoices 3/12``.
    CHUNK_LABEL = "{{ task.chunk['label'] if task.chunk else '' }}"
    ui_color = "#e8f4fd"
    #: The outcomes of the task's audit that wrote to Fincome (OpenLineage's output count).
    WRITTEN: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        resource: str,
        run_key: str,
        month: str | None = None,
        dry_run: bool | str = False,
        enabled: bool | str = True,
        fail_on_failed: bool = True,
        progress_interval: float = 10.0,
        fincome_conn_id: str = DEFAULT_CONN_ID,
        state_conn_id: str = DEFAULT_STATE_CONN_ID,
        erp_conn_id: str = DEFAULT_ERP_CONN_ID,
        chunk: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.chunk = chunk
        self.resource = resource
        self.run_key = run_key
        self.month = month
        self.dry_run = dry_run
        self.enabled = enabled
        self.fail_on_failed = fail_on_failed
        self.progress_interval = progress_interval
        self.fincome_conn_id = fincome_conn_id
        self.state_conn_id = state_conn_id
        self.erp_conn_id = erp_conn_id
        #: The audit ``execute`` returned, for the OpenLineage facets.
        self.audit: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> FincomeHook:
        from fincome_airflow.hooks.fincome import FincomeHook

        return FincomeHook(fincome_conn_id=self.fincome_conn_id)

    def prepared_hook(self) -> FincomeHook:
        """The hook, its retry budget kept within half the task's ``execution_timeout``."""
        hook = self.hook
        if self.execution_timeout is not None:
            ceiling = self.execution_timeout.total_seconds() * RETRY_SHARE_OF_TIMEOUT
            wanted = hook.settings.retry_budget
            if hook.limit_retry_budget(ceiling) < wanted:
                self.log.warning(
                    "retry_budget %.0f s of connection %s lowered to %.0f s, half the task's "
                    "execution_timeout",
                    wanted,
                    self.fincome_conn_id,
                    ceiling,
                )
        return hook

    @cached_property
    def store(self) -> StateStore:
        from fincome_airflow.state.store import StateStore

        return StateStore.from_connection(self.state_conn_id)

    @property
    def ledger(self) -> Ledger:
        from fincome_airflow.load.chunks import key_range
        from fincome_airflow.state.ledger import Ledger

        if self.resource not in RESOURCES:
            raise ValueError(f"resource must be one of {RESOURCES}, not {self.resource!r}")
        self.require_complete_stage()
        return Ledger(self.store, self.run_key, self.resource, key_range(self.chunk))

    def require_complete_stage(self) -> None:
        """Refuse a run whose extraction has not finished (its stage holds part of the month),
        or that can no longer resume (its staged records were removed).

        Runs without a row (records staged by other tooling) are not checked.
        """
        from fincome_airflow.exceptions import FincomeStageIncomplete
        from fincome_airflow.state.retention import require_resumable
        from fincome_airflow.state.store import STATUS_EXTRACTING

        run = require_resumable(self.store, self.run_key)
        if run is not None and run["status"] == STATUS_EXTRACTING:
            raise FincomeStageIncomplete(
                f"Run {self.run_key}: the extraction of month {run['month']} did not finish "
                "(status 'extracting'), so only part of the month is staged; nothing is sent. "
                "Clear the extract task to stage the month again."
            )

    @contextmanager
    def month_locked(self) -> Iterator[None]:
        """Hold the lock of every month the run sends records of (``lock_months`` of its stage
        report, else its month) while sending, so two runs never interleave their sends of
        one month.

        A second run fails this task with a clear message and retries later (it waits).
        A chunk keeps the locks at its end (its run's other chunks may be sending; the audit
        releases them). Dry runs send nothing and take no lock.
        """
        from fincome_airflow.state.locks import month_lock

        if as_bool(self.dry_run) or not self.month:
            yield
            return
        lease = self.execution_timeout or DEFAULT_LOCK_LEASE
        report = self.store.stage_report(self.run_key) or {}
        with month_lock(
            self.store,
            {str(self.month), *report.get("lock_months", ())},
            self.run_key,
            lease=lease,
            release_at_exit=self.chunk is None,
        ):
            yield

    def _with_month(self, audit: dict[str, Any]) -> dict[str, Any]:
        if self.chunk:
            audit = {**audit, "chunk": self.chunk["label"]}
        self.audit = {**audit, "month": self.month} if self.month else audit
        return self.audit

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage of the task's run: the ERP tables of its resource in (records staged),
        the Fincome resource out (records written; none for a dry run). Called by the
        OpenLineage provider's listener, when it is installed, after ``execute``."""
        from airflow.sdk import BaseHook

        from fincome_airflow.lineage import (
            DatasetRef,
            erp_datasets,
            fincome_namespace,
            operator_lineage,
        )

        audit = self.audit or {}
        if not audit or audit.get("skipped"):
            return operator_lineage([], [])
        erp = BaseHook.get_connection(self.erp_conn_id)
        inputs = erp_datasets(erp, self.resource, audit.get("staged"))
        if audit.get("dry_run"):
            return operator_lineage(inputs, [])
        if not self.hook.base_url:
            self.hook.get_conn()
        written = sum(int(audit.get(key, 0)) for key in self.WRITTEN)
        output = DatasetRef(fincome_namespace(self.hook.base_url), self.resource, written)
        return operator_lineage(inputs, [output])

    def disabled_audit(self) -> dict[str, Any] | None:
        """The audit of a disabled task, or ``None`` when it is enabled."""
        if as_bool(self.enabled):
            return None
        self.log.info(
            "%s of %s is disabled for this run: nothing sent", self.task_id, self.resource
        )
        return self._with_month(
            {"resource": self.resource, "run_key": self.run_key, "skipped": True}
        )


def as_bool(value: bool | str | None) -> bool:
    """A templated flag: booleans as they are, rendered strings ("True", "false", "1") parsed."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off", "", "none"):
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return bool(value)
