"""Bar charts as inline SVG, drawn on the server: the page needs no script and no network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Final

WIDTH: Final = 720
HEIGHT: Final = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 12, 40
PALETTE: Final = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f")


def _tick(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    unit: str = "",
    stacked: bool = True,
) -> str:
    """An SVG bar chart: one bar group per label, one colour per series (stacked or side by side).

    :param labels: the x axis (e.g. months, oldest first).
    :param series: values per series name, aligned with ``labels``.
    """
    names = list(series)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    if stacked:
        peak = max((sum(series[n][i] for n in names) for i in range(len(labels))), default=0)
    else:
        peak = max((v for n in names for v in series[n]), default=0)
    peak = peak or 1.0
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * 0.7 / (1 if stacked else max(len(names), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + 18 * ((len(names) + 3) // 4)}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - _RIGHT}" y2="{_TOP + plot_h}" '
        'stroke="#999"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(_tick(peak * fraction))}{escape(unit)}</text>"
        )
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        x0 = _LEFT + i * slot + slot * 0.15
        base = 0.0
        for k, name in enumerate(names):
            value = float(series[name][i] or 0)
            h = plot_h * value / peak
            x = x0 if stacked else x0 + k * bar_w
            y = _TOP + plot_h - h - (plot_h * base / peak if stacked else 0)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(label)} {escape(name)}: '
                f"{escape(_tick(value))}{escape(unit)}</title></rect>"
            )
            base += value if stacked else 0
        if i % every == 0:
            parts.append(
                f'<text x="{x0 + slot * 0.35:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle" '
                f'font-size="11">{escape(label)}</text>'
            )
    for k, name in enumerate(names if len(names) > 1 else []):
        x, y = _LEFT + (k % 4) * 160, HEIGHT - 4 + 18 * (k // 4)
        colour = PALETTE[k % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name)}</text>'
        )
    if not labels:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No runs yet</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
