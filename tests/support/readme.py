"""The README's operational recipes, read from README.md itself so that tests run what it shows.

A recipe is the code right after a ``<!-- recipe: NAME -->`` comment (not itself quoted in
backticks): a fenced block, or an inline code span (joined onto one line, as Markdown renders
it).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from support.paths import README

_RECIPE = re.compile(
    r"(?<!`)<!-- recipe: (?P<name>[\w-]+) -->\s*(?:```\w*\n(?P<block>.*?)```|`(?P<inline>[^`]+)`)",
    re.DOTALL,
)


def recipes(text: str | None = None) -> dict[str, str]:
    """Every recipe of the README (or of ``text``), by name."""
    found: dict[str, str] = {}
    for match in _RECIPE.finditer(README.read_text() if text is None else text):
        name = match["name"]
        assert name not in found, f"two README recipes are named {name!r}"
        code = match["block"] if match["block"] is not None else " ".join(match["inline"].split())
        found[name] = code.strip()
    return found


def recipe(name: str, replace: Mapping[str, str] | None = None) -> str:
    """One recipe, each ``replace`` key (which must occur in it) replaced by its value."""
    code = recipes().get(name)
    assert code is not None, f"README.md has no `<!-- recipe: {name} -->`"
    for old, new in (replace or {}).items():
        assert old in code, f"README recipe {name!r} no longer contains {old!r}:\n{code}"
        code = code.replace(old, new)
    return code


def commands(code: str) -> list[list[str]]:
    """The commands of a recipe, each split like the shell does (comments dropped)."""
    return [shlex.split(line, comments=True) for line in code.splitlines() if line.strip()]
