"""Where the reliability tests keep their figures, and how a Fincome state is compared.

One JSON file per scenario in :func:`results_dir`; a rerun of a scenario replaces its file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

#: Folder of the results (default ``build/reliability`` under the current directory).
ENV_RESULTS: Final = "FINCOME_RELIABILITY_RESULTS"
#: Server-side fields of a sandbox record: they differ between two loads of the same data.
SERVER_FIELDS: Final = ("created_at", "updated_at")


def results_dir(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or os.environ.get(ENV_RESULTS) or Path("build") / "reliability")


def write_result(
    scenario: str, figures: Mapping[str, Any], path: str | os.PathLike[str] | None = None
) -> Path:
    """Write one scenario's figures (``level``, ``faults``, ``retries``, ``lost``, ...)."""
    folder = results_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{scenario}.json"
    target.write_text(json.dumps({"scenario": scenario, **figures}, indent=2, default=str))
    return target


def read_results(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every scenario's figures, by scenario name."""
    folder = results_dir(path)
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


@dataclass
class Comparison:
    """A Fincome state against the expected one, record by record."""

    expected: int = 0
    lost: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, int]:
        return {
            "records_expected": self.expected,
            "lost": len(self.lost),
            "stale": len(self.stale),
            "duplicated": len(self.extra),
        }


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in SERVER_FIELDS}


def compare_dumps(
    actual: Mapping[str, Mapping[str, Any]], expected: Mapping[str, Mapping[str, Any]]
) -> Comparison:
    """Compare two sandbox dumps (``{resource: {id: record}}``), server timestamps aside.

    The sandbox keys records by id, so a record sent twice shows as one: a duplicate is a
    record that should not be there at all (``extra``).
    """
    result = Comparison()
    for resource in sorted(set(actual) | set(expected)):
        have, want = actual.get(resource, {}), expected.get(resource, {})
        result.expected += len(want)
        for record_id, record in want.items():
            key = f"{resource}/{record_id}"
            if record_id not in have:
                result.lost.append(key)
            elif _plain(have[record_id]) != _plain(record):
                result.stale.append(key)
        result.extra += [f"{resource}/{i}" for i in have if i not in want]
    return result
