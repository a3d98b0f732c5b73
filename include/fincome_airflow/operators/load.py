"""Load one resource's staged records into Fincome."""

from __future__ import annotations

from typing import Any

from fincome_airflow.operators.base import FincomeBaseOperator, as_bool


class FincomeLoadOperator(FincomeBaseOperator):
    """Send the records staged for ``run_key`` whose payload differs from what Fincome confirmed.

    Records are streamed from the state database (``fincome_staged``), so the task may run on
    any worker; each confirmation and outcome is written as it happens, so a retried task
    resends only what was not confirmed. Returns the audit dict as XCom.

    :param full_resync: send every staged record, even those the ledger shows unchanged.
    """

    WRITTEN = ("created", "updated")
    template_fields = (*FincomeBaseOperator.template_fields, "full_resync")

    def __init__(self, *, full_resync: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.full_resync = full_resync

    def execute(self, context: Any) -> dict[str, Any]:
        from fincome_airflow.load.send_loops import load_resource

        if (skipped := self.disabled_audit()) is not None:
            return skipped
        with self.month_locked():
            audit = load_resource(
                self.prepared_hook(),
                self.ledger,
                log=self.log,
                full_resync=as_bool(self.full_resync),
                dry_run=as_bool(self.dry_run),
                fail_on_failed=self.fail_on_failed,
                progress_interval=self.progress_interval,
            )
        return self._with_month(audit)
