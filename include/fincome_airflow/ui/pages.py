"""The HTML of the pages (Jinja2 templates, autoescaped) and the charts of the months page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from fincome_airflow.money import NOTHING, format_amounts
from fincome_airflow.ui.charts import bar_chart
from fincome_airflow.ui.views import MonthRow, airflow_run_path, duration_text

#: How many months the charts cover.
CHART_MONTHS: Final = 24
#: Reasons drawn on their own in the rejects chart; the rest are summed as "other".
CHART_REASONS: Final = 6

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["money"] = format_amounts


def _money_lines(amounts: dict[str, str] | None) -> Markup:
    """One currency per line in a table cell."""
    if not amounts:
        return Markup(NOTHING)  # noqa: S704 (a constant)
    return Markup("<br>").join(format_amounts({c: a}) for c, a in sorted((amounts or {}).items()))


_env.filters["money_lines"] = _money_lines
_env.filters["duration"] = duration_text
_env.globals["run_path"] = airflow_run_path


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)


def charts(rows: Sequence[MonthRow]) -> list[Markup]:
    """Invoices, net amount, rejects by reason and load duration over the last months."""
    recent = list(reversed(rows[:CHART_MONTHS]))
    labels = [row.month for row in recent]
    views = [row.latest for row in recent]
    currencies = sorted({c for v in views for c in v.erp_net})
    reason_totals: dict[str, int] = {}
    for view in views:
        for reason, n in view.top_reasons:
            reason_totals[reason] = reason_totals.get(reason, 0) + n
    shown = sorted(reason_totals, key=lambda r: -reason_totals[r])[:CHART_REASONS]
    reasons = {r: [dict(v.top_reasons).get(r, 0) for v in views] for r in shown}
    if len(reason_totals) > len(shown):
        reasons["other"] = [sum(n for r, n in v.top_reasons if r not in shown) for v in views]
    drawn = [
        bar_chart(
            "Invoices extracted per month", labels, {"invoices": [v.invoices for v in views]}
        ),
        bar_chart(
            "Net amount of the invoices in the ERP, per currency",
            labels,
            {c: [float(v.erp_net.get(c, 0)) for v in views] for c in currencies},
            stacked=False,
        ),
        bar_chart("Rejected records by reason (top reasons of each run)", labels, reasons),
        bar_chart(
            "Load duration per month (minutes)",
            labels,
            {"duration": [(v.duration_s or 0) / 60 for v in views]},
            unit=" min",
        ),
    ]
    return [Markup(svg) for svg in drawn]  # noqa: S704 (built from escaped parts)
