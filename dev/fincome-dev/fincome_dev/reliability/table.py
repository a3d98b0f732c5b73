"""The reliability table, as plain text from the scenarios' results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COLUMNS = (
    ("scenario", 26),
    ("level", 12),
    ("outcome", 16),
    ("faults injected", 38),
    ("retries", 8),
    ("records", 8),
    ("lost", 5),
    ("dup/stale", 9),
)


def _faults(faults: Mapping[str, int] | None) -> str:
    if not faults:
        return "-"
    return ", ".join(f"{kind} {n}" for kind, n in faults.items() if n) or "-"


def _row(result: Mapping[str, Any]) -> list[str]:
    dup_stale = result.get("duplicated", 0) + result.get("stale", 0)
    return [
        str(result["scenario"]),
        str(result.get("level", "?")),
        str(result.get("outcome", "?")),
        _faults(result.get("faults")),
        str(result.get("retries", "-")),
        str(result.get("records_expected", "-")),
        str(result.get("lost", "-")),
        str(dup_stale) if "records_expected" in result else "-",
    ]


def render(results: Sequence[Mapping[str, Any]]) -> str:
    """Fault scenarios as one table, then every bad input tried and how it ended."""
    if not results:
        return "No reliability results yet: run `python -m fincome_dev.reliability --run`."
    lines = ["Faults", _line([name for name, _ in COLUMNS])]
    lines.append(_line(["-" * width for _, width in COLUMNS]))
    for result in results:
        if result.get("kind", "fault") == "fault":
            lines.append(_line(_row(result)))
    totals = {
        k: sum(r.get(k, 0) for r in results) for k in ("lost", "duplicated", "stale", "retries")
    }
    lines.append(
        f"Total: records lost {totals['lost']}, duplicated {totals['duplicated']}, stale "
        f"{totals['stale']}, retries made {totals['retries']}."
    )
    inputs = [i for r in results for i in r.get("inputs", [])]
    if inputs:
        lines += ["", "Bad inputs", f"  {'input':<44} {'tried through':<22} how it ended"]
        for item in inputs:
            lines.append(f"  {item['input'][:44]:<44} {item['via'][:22]:<22} {item['ended']}")
        lines.append(f"Total: {len(inputs)} bad inputs tried, {_crashes(inputs)} crashed.")
    return "\n".join(lines)


def _crashes(inputs: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for i in inputs if i.get("crashed"))


def _line(cells: Sequence[str]) -> str:
    padded = (f"{cell[:width]:<{width}}" for cell, (_, width) in zip(cells, COLUMNS, strict=True))
    return ("  " + " ".join(padded)).rstrip()
