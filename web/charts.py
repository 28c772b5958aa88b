"""Charts drawn as inline SVG on the server: no JavaScript library, no external service.

Every chart has a title and description for screen readers, escapes its labels, and sits next to
a CSV download of the same numbers. Charts are drawn left to right in every language (as printed
statistics are); their labels are still in the page's language.
"""

from __future__ import annotations

from html import escape

from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe

SERIES_COLOURS = ("#0b4f8a", "#d1731a", "#14623a", "#7a3b8f")


def bar_chart(
    rows: list[tuple[str, list[float]]],
    series: list[str],
    *,
    title: str,
    label_width: int = 260,
    width: int = 760,
) -> SafeString:
    """Horizontal grouped bars: one group per row, one bar per series."""
    bar, gap, group_gap = 12, 2, 10
    group = len(series) * (bar + gap) + group_gap
    legend_height = 24
    height = legend_height + max(1, len(rows)) * group + 10
    plot = width - label_width - 50
    top = max([v for _label, values in rows for v in values] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" direction="ltr" role="img" '
        f'aria-labelledby="t d">',
        f'<title id="t">{escape(title)}</title><desc id="d">{escape(", ".join(series))}</desc>',
    ]
    for index, name in enumerate(series):
        x = index * 160
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{SERIES_COLOURS[index % 4]}"/>')
        parts.append(f'<text x="{x + 16}" y="15" font-size="12">{escape(name)}</text>')
    for i, (label, values) in enumerate(rows):
        y = legend_height + i * group
        parts.append(
            f'<text x="{label_width - 6}" y="{y + group / 2}" font-size="11" text-anchor="end" '
            f'dominant-baseline="middle">{escape(label[:48])}</text>'
        )
        for j, value in enumerate(values):
            length = plot * value / top
            by = y + j * (bar + gap)
            parts.append(
                f'<rect x="{label_width}" y="{by}" width="{length:.1f}" height="{bar}" fill="{SERIES_COLOURS[j % 4]}">'
                f"<title>{escape(series[j])}: {escape(number_format(value))}</title></rect>"
            )
            parts.append(
                f'<text x="{label_width + length + 4:.1f}" y="{by + bar - 2}" font-size="10">'
                f"{escape(number_format(value))}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def heat_map(columns: list[str], rows: list[tuple[str, list[int]]], *, title: str, row_title: str) -> SafeString:
    """A grid of cells whose darkness is the count (here: needs per UNCAC article and region)."""
    cell_w, cell_h, left, top_margin = 90, 18, 70, 40
    width = left + cell_w * len(columns) + 10
    height = top_margin + cell_h * max(1, len(rows)) + 10
    peak = max([v for _label, values in rows for v in values] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" direction="ltr" role="img" '
        f'aria-labelledby="ht hd">',
        f'<title id="ht">{escape(title)}</title><desc id="hd">{escape(row_title)}</desc>',
        f'<text x="4" y="{top_margin - 8}" font-size="11" font-weight="bold">{escape(row_title)}</text>',
    ]
    for j, name in enumerate(columns):
        parts.append(
            f'<text x="{left + j * cell_w + cell_w / 2}" y="{top_margin - 8}" font-size="11" text-anchor="middle">{escape(name[:14])}</text>'
        )
    for i, (label, values) in enumerate(rows):
        y = top_margin + i * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_h - 5}" font-size="11" text-anchor="end">{escape(label)}</text>'
        )
        for j, value in enumerate(values):
            shade = value / peak
            # From a pale blue to the brand blue; dark cells get white text for contrast.
            colour = f"rgb({int(235 - 224 * shade)},{int(242 - 163 * shade)},{int(250 - 112 * shade)})"
            text = "#fff" if shade > 0.5 else "#1b2430"
            x = left + j * cell_w
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{colour}">'
                f"<title>{escape(label)} × {escape(columns[j])}: {value}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text x="{x + cell_w / 2}" y="{y + cell_h - 5}" font-size="10" text-anchor="middle" fill="{text}">{value}</text>'
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))
