"""Delete from Fincome the records staged for deletion."""

from __future__ import annotations

from typing import Any

from fincome_airflow.operators.base import FincomeBaseOperator, as_bool


class FincomeDeleteOperator(FincomeBaseOperator):
    """Delete the records staged with action ``delete`` that the ledger shows as sent.

    A 404 counts as already gone; both mark the ledger row deleted. Returns the audit dict.
    """

    WRITTEN = ("deleted",)

    def execute(self, context: Any) -> dict[str, Any]:
        from fincome_airflow.load.send_loops import delete_resource

        if (skipped := self.disabled_audit()) is not None:
            return skipped
        with self.month_locked():
            audit = delete_resource(
                self.prepared_hook(),
                self.ledger,
                log=self.log,
                dry_run=as_bool(self.dry_run),
                fail_on_failed=self.fail_on_failed,
                progress_interval=self.progress_interval,
            )
        return self._with_month(audit)
