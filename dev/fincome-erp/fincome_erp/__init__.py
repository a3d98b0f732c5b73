"""The reference ERP: schema (PostgreSQL and SQLite) and a deterministic demo-data generator.

``python -m fincome_erp generate|demo`` is the command line; :func:`populate` fills an ERP
engine; :func:`generate` streams rows to any callable; :data:`DIRTY_KINDS` names the defects the
generator plants and the manifest lists.
"""

from __future__ import annotations

from fincome_erp.config import GeneratorConfig
from fincome_erp.ddl import install_schema
from fincome_erp.dirty import ALL_DIRTY_KINDS, DIRTY_KINDS, EDGE_KINDS, DirtyKind
from fincome_erp.generator import generate
from fincome_erp.manifest import Manifest
from fincome_erp.populate import ErpNotEmptyError, populate

__all__ = [
    "ALL_DIRTY_KINDS",
    "DIRTY_KINDS",
    "EDGE_KINDS",
    "DirtyKind",
    "ErpNotEmptyError",
    "GeneratorConfig",
    "Manifest",
    "generate",
    "install_schema",
    "populate",
]
