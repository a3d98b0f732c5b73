from __future__ import annotations

import json

from fincome_airflow.load.waves import waves
from fincome_airflow.state.ledger import StagedRecord


class _Ledger:
    def __init__(self, resource: str, parents: dict[str, str | None]) -> None:
        self.resource = resource
        self._records = [
            StagedRecord(rid, json.dumps({"id": rid, "root_parent_id": parent}), "h")
            for rid, parent in sorted(parents.items())
        ]

    def iter_to_send(self, *, full_resync: bool = False):
        return iter(self._records)


def _ids(ledger) -> list[list[str]]:
    return [[r.record_id for r in wave] for wave in waves(ledger, full_resync=False)]


def test_waves_send_a_parent_before_its_children_and_grandchildren():
    ledger = _Ledger("customers", {"A": None, "B": "A", "C": "B", "D": None, "E": "Z"})
    assert _ids(ledger) == [["A", "D", "E"], ["B"], ["C"]]


def test_waves_send_a_cycle_rather_than_hold_it_forever():
    assert _ids(_Ledger("customers", {"A": "B", "B": "A"})) == [[], ["A", "B"]]


def test_waves_stream_resources_without_self_reference_in_one_wave():
    assert _ids(_Ledger("invoices", {"I1": "x", "I2": "I1"})) == [["I1", "I2"]]
