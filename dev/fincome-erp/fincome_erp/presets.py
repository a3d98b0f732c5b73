"""Named generation presets."""

from __future__ import annotations

from typing import Final

from fincome_erp.config import DEFAULT_FIRST_MONTH, DEFAULT_LAST_MONTH, GeneratorConfig

#: The quick start's fixed demo set: 2026-08..2026-10, 100 invoices a month, a dirty share high
#: enough that every dirty kind appears at least once (and a seed under which every edge case,
#: contract status and invoice status does).
DEMO: Final = GeneratorConfig.build(
    DEFAULT_FIRST_MONTH,
    DEFAULT_LAST_MONTH,
    invoices_per_month=100,
    dirty_share=0.1,
    edge_share=0.05,
    seed=2,
)
