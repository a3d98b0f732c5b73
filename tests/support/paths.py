"""Folders of the repository the tests read (never written, except ``BUILD``)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[2]
DAGS: Final = REPO / "dags"
PLUGINS: Final = REPO / "plugins"
README: Final = REPO / "README.md"
#: Frozen files the tests compare with (``tests/data``).
DATA: Final = REPO / "tests" / "data"
#: Artefacts for review (git-ignored).
BUILD: Final = REPO / "build"
