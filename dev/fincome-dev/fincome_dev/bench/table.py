"""The benchmark's one table: each figure beside its same-run baseline, a ratio and a target."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One line of the table.

    :param key: stable identifier (the JSON's key, checked by the smoke test).
    :param ratio: ``value / baseline`` in the sense the target reads (None when not relevant).
    :param met: whether the target is met (None when the figure has no target at this size).
    """

    key: str
    label: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    invoices: int
    month: str
    load_avg: tuple[float, float, float]
    figures: list[Figure] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def to_dict(self) -> dict[str, Any]:
        return {
            "invoices": self.invoices,
            "month": self.month,
            "load_avg": list(self.load_avg),
            "meta": self.meta,
            "figures": {f.key: asdict(f) for f in self.figures},
        }

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", "utf-8")
        return path

    def markdown(self) -> str:
        """The table as Markdown (printed, and pasted into the README)."""
        head = ["figure", "value", "baseline (same run)", "ratio", "target", "met"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for f in self.figures:
            ratio = "" if f.ratio is None else f"{f.ratio:.3g}x"
            met = {True: "yes", False: "**no**", None: "n/a"}[f.met]
            label = f.label + (f" ({f.note})" if f.note else "")
            lines.append(f"| {label} | {f.value} | {f.baseline} | {ratio} | {f.target} | {met} |")
        load = ", ".join(f"{x:.2f}" for x in self.load_avg)
        lines.append("")
        lines.append(
            f"{self.invoices:,} invoices in {self.month}; load average before the run: {load}"
            + "".join(f"; {k} {v}" for k, v in self.meta.items() if k.startswith("load_avg_"))
        )
        return "\n".join(lines)
