"""The README's list of reject reasons names exactly the codes the load can give."""

from __future__ import annotations

import re
from pathlib import Path

from fincome_airflow.reasons import REASON_CODES

README = Path(__file__).resolve().parents[2] / "README.md"


def listed_reasons() -> list[str]:
    """The codes of the README's reasons table (its rows: ``| `code` | meaning |``)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("**Reject reasons**")
    table = text[start : text.index("\n\n", text.index("| code |", start))]
    return re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)


def test_the_readme_lists_every_reject_reason_once_and_no_other():
    listed = listed_reasons()
    assert len(listed) == len(set(listed)), listed
    assert set(listed) == REASON_CODES
