"""Customer hierarchies: parent references, cycles, and blocking down the tree.

A customer with a parent is decided after every customer of the load was read (the parent may
come later in the stream): its parent must be in the load or in the ledger, the chain must not
loop, and a customer under a refused parent is blocked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from fincome_airflow.contract import Resource
from fincome_airflow.reasons import blocked, problem
from fincome_airflow.validation.decisions import Decision

LedgerLookup = Callable[[Resource, Sequence[str]], set[str]]


def _refuse(d: Decision, refused: set[str], p: object) -> None:
    d.kind, d.payload = "reject", None
    d.problems.append(p)  # type: ignore[arg-type]
    refused.add(d.record_id)


def resolve_hierarchy(
    held: list[tuple[Decision, str, bool]],
    refused: set[str],
    ledger_lookup: LedgerLookup,
) -> Iterator[Decision]:
    """Decide the held customers ``(decision, parent id, parent found in the ERP)``.

    ``refused`` (the customer ids refused so far) grows with the customers refused here.
    """
    by_id = {d.record_id: d for d, _, _ in held}
    parent_of = {d.record_id: parent for d, parent, _ in held}
    parent_in_erp = {d.record_id: in_erp for d, _, in_erp in held}
    missing = sorted({p for _, p, in_erp in held if not in_erp})
    in_ledger = ledger_lookup("customers", missing) if missing else set()
    decided: set[str] = set()
    for start in by_id:
        path: list[str] = []
        on_path: set[str] = set()
        cur = start
        while cur in by_id and cur not in decided:
            if cur in on_path:
                cycle = path[path.index(cur) :]
                for node in cycle:
                    _refuse(by_id[node], refused, problem("parent_cycle", "parent_cust_no", cur))
                    decided.add(node)
                path = path[: path.index(cur)]
                break
            path.append(cur)
            on_path.add(cur)
            cur = parent_of[cur]
        for node in reversed(path):
            d, parent = by_id[node], parent_of[node]
            if d.kind == "stage":
                if not parent_in_erp[node] and parent not in in_ledger:
                    missing = problem(
                        "reference_not_found",
                        "parent_cust_no",
                        parent,
                        refers_to=f"customers/{parent}",
                    )
                    _refuse(d, refused, missing)
                elif parent in refused:
                    _refuse(d, refused, blocked("customers", parent, "parent_cust_no"))
            decided.add(node)
    yield from by_id.values()
