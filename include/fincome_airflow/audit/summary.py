"""The run summary: counts per resource that add up, amounts per currency, the watermark.

Counts of sends come from ``fincome_outcomes`` (exact across task retries: XComs are cleared on
retry), counts of extraction from the stage report. The counts add up per resource:
extracted = created + updated + unchanged + rejected + blocked + skipped + failed + deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fincome_airflow.audit.revenue import month_revenue
from fincome_airflow.audit.run_counts import (
    by_issue_month,
    loaded_net_by_currency,
    outcome_counts,
    staged_counts,
)
from fincome_airflow.contract import RESOURCES
from fincome_airflow.kinds import KIND_MONTHLY
from fincome_airflow.money import format_amounts
from fincome_airflow.state.store import StateStore

COUNT_KEYS = (
    "extracted",
    "valid",
    "rejected",
    "blocked",
    "skipped",
    "unchanged",
    "created",
    "updated",
    "deleted",
    "failed",
)
_HTTP_KEYS = ("requests", "retries", "rate_limited", "duration_s")
#: What the summary tells of the change watermark (from the stage report, see extract/watermark).
WATERMARK_KEYS = ("watermark", "changed_since", "max_updated_at", "watermark_guard", "horizon")


def _resource_counts(
    stage: Mapping[str, int],
    outcomes: Mapping[str, int],
    staged: Mapping[str, int],
    load: Mapping[str, Any] | None,
    deletion: Mapping[str, Any] | None,
    *,
    send: bool,
) -> dict[str, int]:
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for key in ("extracted", "valid", "rejected", "blocked", "skipped"):
        counts[key] = int(stage.get(key, 0))
    never_sent = int((deletion or {}).get("never_sent", 0))
    counts["skipped"] += never_sent
    if send:
        counts["created"] = outcomes.get("created", 0)
        counts["updated"] = outcomes.get("updated", 0)
        counts["failed"] = outcomes.get("failed", 0)
        counts["deleted"] = outcomes.get("deleted", 0) + outcomes.get("absent", 0)
        counts["rejected"] += outcomes.get("rejected", 0)
        if load is not None and load.get("skipped"):  # resource not selected for this run
            counts["skipped"] += staged.get("upsert", 0) + staged.get("delete", 0) - never_sent
        elif load is not None:  # the load ran to its end: what it did not send was unchanged
            handled = sum(outcomes.values())
            staged_total = staged.get("upsert", 0) + staged.get("delete", 0)
            counts["unchanged"] = max(0, staged_total - handled - never_sent)
    else:
        load = load or {}
        counts["created"] = int(load.get("would_create", 0))
        counts["updated"] = int(load.get("would_update", 0))
        counts["unchanged"] = int(load.get("unchanged", 0))
        counts["deleted"] = int((deletion or {}).get("would_delete", 0))
    return counts


def balanced(counts: Mapping[str, int]) -> bool:
    """Whether every extracted record is accounted for by exactly one outcome."""
    accounted = sum(counts[k] for k in COUNT_KEYS if k not in ("extracted", "valid"))
    return accounted == counts["extracted"]


def build_summary(
    plan: Mapping[str, Any],
    stage: Mapping[str, Any] | None,
    loads: Mapping[str, Mapping[str, Any] | None],
    deletions: Mapping[str, Mapping[str, Any] | None],
    reconciliation: Mapping[str, Any] | None,
    store: StateStore,
) -> dict[str, Any]:
    """Assemble the run summary (small: counts, amounts and keys, never records).

    ``loads`` and ``deletions``: what each resource's load and deletion step returned.
    """
    run_key = plan["run_key"]
    outcomes = outcome_counts(store, run_key)
    staged = staged_counts(store, run_key)
    stage_counts = (stage or {}).get("counts", {})
    resources: dict[str, Any] = {}
    for resource in RESOURCES:
        counts = _resource_counts(
            stage_counts.get(resource, {}),
            outcomes.get(resource, {}),
            staged.get(resource, {}),
            loads.get(resource),
            deletions.get(resource),
            send=plan["send"],
        )
        deletion = deletions.get(resource) or {}
        http = {k: (loads.get(resource) or {}).get(k, 0) + deletion.get(k, 0) for k in _HTTP_KEYS}
        resources[resource] = {
            **counts,
            "balanced": balanced(counts),
            "selected": resource in plan["resources"],
            **http,
        }
    invoices = by_issue_month(store, run_key, "invoices")
    credit_notes = by_issue_month(store, run_key, "credit_notes")
    return {
        "month": plan["month"],
        "run_key": run_key,
        "kind": plan.get("kind", KIND_MONTHLY),
        "dry_run": plan["dry_run"],
        "reconcile_only": plan.get("reconcile_only", False),
        "full_resync": plan.get("full_resync", False),
        "resources": resources,
        "net_amount_extracted": (stage or {}).get("net_by_currency", {}),
        "net_amount_loaded": loaded_net_by_currency(store, run_key) if plan["send"] else {},
        # Per issue month: loaded this run / already in Fincome (other months: late changes).
        "invoices_by_month": invoices,
        "credit_notes_by_month": credit_notes,
        # The month's invoices (gross) minus its credit notes, per currency, held in Fincome.
        "revenue": month_revenue(invoices, credit_notes, plan["month"]),
        "top_reject_reasons": (stage or {}).get("top_reasons", []),
        "rejects_file": (stage or {}).get("rejects_file"),
        "reconciliation": dict(reconciliation) if reconciliation else None,
        "watermark": {key: (stage or {}).get(key) for key in WATERMARK_KEYS},
    }


#: The dated resources of the summary: key of their split by month, noun.
_DATED = (("invoices_by_month", "invoice"), ("credit_notes_by_month", "credit note"))


def _count_line(label: str, count: int, net: Mapping[str, str], noun: str) -> str:
    if not count:
        return f"{label:<22}nothing"
    return f"{label:<22}{count} {noun}{'s' * (count != 1)}, {format_amounts(net)}"


def _month_lines(summary: Mapping[str, Any], key: str, noun: str) -> list[str]:
    """The month's own records of a dated resource, then those of other months (late changes),
    counted apart."""
    month = summary["month"]
    by_month = summary.get(key)
    if by_month is None:  # a summary written before the split existed
        if key != "invoices_by_month":
            return []
        return [f"  net amount loaded this run: {format_amounts(summary['net_amount_loaded'])}"]
    if not by_month and key != "invoices_by_month":
        return []  # no credit notes: no lines about them
    empty = {"loaded": 0, "loaded_net": {}, "in_fincome": 0, "in_fincome_net": {}}
    own = by_month.get(month, empty)
    loaded_label = "would be loaded:" if summary["dry_run"] else "loaded this run:"
    lines = [f"  {noun}s of {month}:"]
    if summary["dry_run"]:
        lines.append(f"    {'loaded this run:':<22}nothing (dry run)")
    else:
        lines.append("    " + _count_line(loaded_label, own["loaded"], own["loaded_net"], noun))
    held = _count_line("already in Fincome:", own["in_fincome"], own["in_fincome_net"], noun)
    lines.append("    " + held)
    others = {m: v for m, v in by_month.items() if m != month}
    if others:
        lines.append(f"  late changes, {noun}s of other months (not counted above):")
        for other, entry in others.items():
            loaded = _count_line("loaded this run", entry["loaded"], entry["loaded_net"], noun)
            held = _count_line(
                "already in Fincome", entry["in_fincome"], entry["in_fincome_net"], noun
            )
            lines.append(f"    {other}: {' '.join(loaded.split())}; {' '.join(held.split())}")
    return lines


def _revenue_line(summary: Mapping[str, Any]) -> list[str]:
    revenue = summary.get("revenue")
    if not revenue:
        return []
    return [
        f"  revenue of {summary['month']} in Fincome: gross {format_amounts(revenue['gross'])}; "
        f"credited {format_amounts(revenue['credited'])}; net {format_amounts(revenue['net'])}"
    ]


def readable(summary: Mapping[str, Any]) -> str:
    """The summary as a few lines of text for the task log and the demo (amounts per currency,
    ``CHF 6,707.00``; the ``audit`` XCom keeps the machine form)."""
    mode = "dry run" if summary["dry_run"] else "load"
    lines = [f"Fincome {mode} of {summary['month']} ({summary['run_key']}):"]
    header = f"  {'resource':<14}" + "".join(f"{k:>10}" for k in COUNT_KEYS)
    lines.append(header)
    for resource, counts in summary["resources"].items():
        lines.append(f"  {resource:<14}" + "".join(f"{counts[k]:>10}" for k in COUNT_KEYS))
    lines.append(
        "  net amount of the invoices read from the ERP (all months): "
        + format_amounts(summary["net_amount_extracted"])
    )
    for key, noun in _DATED:
        lines.extend(_month_lines(summary, key, noun))
    lines.extend(_revenue_line(summary))
    if summary.get("reconciliation"):
        verdict = summary["reconciliation"]
        others = verdict.get("other_months")
        also = f" (also checked: invoices sent to {', '.join(others)})" if others else ""
        lines.append(f"  reconciliation: {verdict.get('verdict')}{also}")
    if (summary.get("watermark") or {}).get("changed_since"):
        mark = summary["watermark"]
        lines.append(
            f"  changes read since {mark['changed_since']} (watermark {mark['watermark']}, "
            f"guard: {mark['watermark_guard']}); next watermark {mark['max_updated_at']}"
        )
    if summary.get("rejects_file"):
        lines.append(f"  rejects: {summary['rejects_file']}")
    return "\n".join(lines)
