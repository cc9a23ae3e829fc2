"""Small inline SVG charts for the cluster page (no script, no external library)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup, escape


def bar_chart(items: list[dict[str, Any]], title: str, top: int = 15) -> Markup:
    """Horizontal bars, one per ``{"value", "ads"}`` item (the ``top`` largest)."""
    items = items[:top]
    if not items:
        return Markup('<p class="muted">No data.</p>')
    width, label_w, row_h = 560, 170, 22
    biggest = max(int(i["ads"]) for i in items) or 1
    height = row_h * len(items) + 8
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} '
        f'{height}" width="100%" preserveAspectRatio="xMinYMin meet">'
    ]
    for n, item in enumerate(items):
        y = 4 + n * row_h
        bar = (width - label_w - 50) * int(item["ads"]) / biggest
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="lbl">'
            f"{escape(str(item['value'])[:28])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 7}" rx="3" '
            f'class="bar"><title>{escape(str(item["value"]))}: {int(item["ads"])} ads'
            "</title></rect>"
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 15}" class="num">{int(item["ads"])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline_chart(days: list[dict[str, Any]]) -> Markup:
    """Ads posted per day, one bar per day between the first and the last post."""
    if not days:
        return Markup('<p class="muted">No posting dates.</p>')
    counts = {dt.date.fromisoformat(d["date"]): int(d["ads"]) for d in days}
    first, last = min(counts), max(counts)
    span = (last - first).days + 1
    width, height, pad = 640, 140, 28
    bar_w = max(1.0, (width - 2 * pad) / span)
    biggest = max(counts.values())
    parts = [
        f'<svg class="chart" role="img" aria-label="posting timeline" viewBox="0 0 {width} '
        f'{height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'class="axis"/>',
    ]
    for day, n in sorted(counts.items()):
        x = pad + (day - first).days * bar_w
        h = (height - 2 * pad) * n / biggest
        parts.append(
            f'<rect x="{x:.1f}" y="{height - pad - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
            f'height="{h:.1f}" class="bar"><title>{day}: {n} ads</title></rect>'
        )
    parts.append(
        f'<text x="{pad}" y="{height - 8}" class="lbl">{first}</text>'
        f'<text x="{width - pad}" y="{height - 8}" text-anchor="end" class="lbl">{last}</text>'
        f'<text x="{pad}" y="16" class="lbl">max {biggest} ads/day</text></svg>'
    )
    return Markup("".join(parts))
