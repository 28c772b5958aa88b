"""Charts drawn as inline SVG on the server: no JavaScript library, no external service.

Every chart has a title and description for screen readers, escapes its labels, and sits next to
a CSV download of the same numbers. Labels are wrapped at word boundaries (Chinese between
characters), never cut inside a word; a label too long for its lines ends with "…" after a whole
word and keeps its full text in a tooltip. In right-to-left languages a chart is mirrored: labels
on the right, bars growing to the left, legends from the right, the way an Arabic reader scans.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html import escape

from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe

SERIES_COLOURS = ("#0b4f8a", "#d1731a", "#14623a", "#7a3b8f")
#: Diverging scale of the demand/supply heat map: needs exceed offers (orange) … offers exceed needs (blue).
GAP_NEEDS = (209, 115, 26)
GAP_OFFERS = (11, 79, 138)
GAP_NONE = (244, 246, 248)


def _char_width(char: str, size: float) -> float:
    """Approximate advance of one character in the app's sans-serif font, in pixels."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return size
    if char.isspace():
        return size * 0.3
    return size * 0.56


def text_width(text: str, size: float) -> float:
    return sum(_char_width(c, size) for c in text)


def _tokens(text: str) -> list[str]:
    """Words (with their trailing space) and single wide characters: the places a line may break."""
    tokens: list[str] = []
    current = ""
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            if current:
                tokens.append(current)
                current = ""
            tokens.append(char)
        else:
            current += char
            if char == " ":
                tokens.append(current)
                current = ""
    if current:
        tokens.append(current)
    return tokens


def wrap_label(text: str, *, width: float, size: float, max_lines: int = 3) -> list[str]:
    """Lines of ``text`` fitting ``width`` pixels, broken between words; the last line ends with
    "…" when the label does not fit in ``max_lines``."""
    lines: list[str] = []
    line = ""
    tokens = _tokens(text)
    for index, token in enumerate(tokens):
        if line and text_width((line + token).rstrip(), size) > width:
            lines.append(line.rstrip())
            line = ""
            if len(lines) == max_lines:
                if "".join(tokens[index:]).strip():
                    lines[-1] = _shorten(lines[-1], width=width, size=size)
                return lines
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _shorten(line: str, *, width: float, size: float) -> str:
    """``line`` with "…" appended, dropping whole words (or single Chinese characters) to fit."""
    while line:
        ending = "…" if _is_wide(line[-1]) else " …"
        if text_width(line + ending, size) <= width:
            return line + ending
        if _is_wide(line[-1]):
            line = line[:-1].rstrip()
        elif " " in line:
            line = line.rsplit(" ", 1)[0].rstrip()
        else:
            return line + ending  # one word longer than the line: keep it whole
    return "…"


@dataclass(frozen=True)
class _Frame:
    """x coordinates of a chart ``width`` wide, mirrored in right-to-left pages."""

    width: float
    rtl: bool

    def x(self, x: float, w: float = 0) -> float:
        """Left edge of a box that starts ``x`` from the reading start and is ``w`` wide."""
        return self.width - x - w if self.rtl else x

    def anchor(self, anchor: str) -> str:
        """``start``/``end`` stay in reading order: mirrored texts carry ``direction="rtl"``, and
        SVG reads text-anchor along the text's own direction."""
        return anchor


def _text(frame: _Frame, x: float, y: float, lines: list[str], *, size: float, anchor: str, **attrs: object) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    direction = ' direction="rtl"' if frame.rtl else ""
    if len(lines) == 1:
        return (
            f'<text x="{frame.x(x):.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{frame.anchor(anchor)}"'
            f"{direction}{extra}>{escape(lines[0])}</text>"
        )
    line_height = size * 1.2
    first = y - (len(lines) - 1) * line_height / 2
    spans = "".join(
        f'<tspan x="{frame.x(x):.1f}" y="{first + i * line_height:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text font-size="{size}" text-anchor="{frame.anchor(anchor)}"{direction}{extra}>{spans}</text>'


def _open(width: float, height: float, title: str, desc: str, ident: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" direction="ltr" '
        f'role="img" aria-labelledby="{ident}-t {ident}-d" class="chart-svg">',
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>',
    ]


def bar_chart(
    rows: list[tuple[str, list[float]]],
    series: list[str],
    *,
    title: str,
    rtl: bool = False,
    label_width: int = 280,
    width: int = 760,
    ident: str = "bars",
) -> SafeString:
    """Horizontal grouped bars: one group per row (label wrapped beside it), one bar per series."""
    frame = _Frame(width, rtl)
    bar, gap, group_gap, size = 12, 2, 10, 11
    bars_height = len(series) * (bar + gap)
    legend_height = 24
    plot = width - label_width - 50
    top = max([v for _label, values in rows for v in values] + [1])
    wrapped = [wrap_label(label, width=label_width - 12, size=size) for label, _values in rows]
    heights = [max(bars_height, len(lines) * size * 1.2) + group_gap for lines in wrapped]
    height = legend_height + sum(heights) + 10
    parts = _open(width, height, title, ", ".join(series), ident)
    x = 0.0
    for index, name in enumerate(series):
        parts.append(
            f'<rect x="{frame.x(x, 12):.1f}" y="4" width="12" height="12" fill="{SERIES_COLOURS[index % 4]}"/>'
        )
        parts.append(_text(frame, x + 16, 14.5, [name], size=12, anchor="start"))
        x += 16 + text_width(name, 12) + 24
    y = float(legend_height)
    for (label, values), lines, row_height in zip(rows, wrapped, heights, strict=True):
        middle = y + (row_height - group_gap) / 2
        parts.append(
            _text(frame, label_width - 8, middle, lines, size=size, anchor="end", dominant_baseline="middle")
            if len(lines) == 1
            else _text(frame, label_width - 8, middle + size * 0.35, lines, size=size, anchor="end")
        )
        bars_top = middle - bars_height / 2
        for j, value in enumerate(values):
            length = plot * value / top
            by = bars_top + j * (bar + gap)
            parts.append(
                f'<rect x="{frame.x(label_width, length):.1f}" y="{by:.1f}" width="{length:.1f}" height="{bar}" '
                f'fill="{SERIES_COLOURS[j % 4]}"><title>{escape(label)} — {escape(series[j])}: '
                f"{escape(number_format(value))}</title></rect>"
            )
            parts.append(
                _text(frame, label_width + length + 4, by + bar - 2, [number_format(value)], size=10, anchor="start")
            )
        y += row_height
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _mix(colour: tuple[int, int, int], share: float) -> str:
    r, g, b = (round(base + (target - base) * share) for base, target in zip(GAP_NONE, colour, strict=True))
    return f"rgb({r},{g},{b})"


def gap_colour(needs: int, offers: int, peak: int) -> tuple[str, str]:
    """(fill, text colour) of a heat-map cell: orange where needs exceed offers, blue the other
    way, pale when balanced; the darker, the larger the gap against the largest one shown."""
    gap = needs - offers
    share = min(1.0, abs(gap) / peak) if peak else 0.0
    fill = _mix(GAP_NEEDS if gap > 0 else GAP_OFFERS, 0.15 + 0.85 * share) if gap else _mix(GAP_NONE, 0)
    return fill, "#fff" if share > 0.55 else "#1b2430"


def demand_supply_map(
    columns: list[str],
    rows: list[tuple[str, list[tuple[int, int]]]],
    *,
    title: str,
    row_title: str,
    legend: tuple[str, str, str, str],
    rtl: bool = False,
    ident: str = "heat",
) -> SafeString:
    """Rows (UNCAC articles, by name) × columns (regions); each cell says "needs / offers" and is
    coloured by the gap between them. ``legend`` = (needs exceed, balanced, offers exceed, cell)."""
    size = 11
    left, cell_w, cell_h = 300, 92, 30
    header_lines = [wrap_label(name, width=cell_w - 6, size=size, max_lines=2) for name in columns]
    top_margin = 16 + max([len(lines) for lines in header_lines] + [1]) * size * 1.2
    wrapped = [wrap_label(label, width=left - 12, size=size, max_lines=2) for label, _cells in rows]
    width = left + cell_w * len(columns) + 10
    legend_top = top_margin + cell_h * max(1, len(rows)) + 14
    height = legend_top + 44
    frame = _Frame(width, rtl)
    peak = max([abs(n - o) for _label, cells in rows for n, o in cells] + [1])
    parts = _open(width, height, title, f"{row_title}; {legend[3]}", ident)
    parts.append(_text(frame, 4, top_margin - 8, [row_title], size=size, anchor="start", font_weight="bold"))
    for j, lines in enumerate(header_lines):
        parts.append(
            _text(
                frame, left + j * cell_w + cell_w / 2, top_margin - 8 - (len(lines) - 1) * size * 0.6, lines,
                size=size, anchor="middle",
            )
        )  # fmt: skip
    for i, ((label, cells), lines) in enumerate(zip(rows, wrapped, strict=True)):
        y = top_margin + i * cell_h
        parts.append(_text(frame, left - 8, y + cell_h / 2 + size * 0.35, lines, size=size, anchor="end"))
        for j, (needs, offers) in enumerate(cells):
            fill, ink = gap_colour(needs, offers, peak)
            cell_x = left + j * cell_w
            parts.append(
                f'<rect x="{frame.x(cell_x, cell_w - 2):.1f}" y="{y:.1f}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{fill}"><title>{escape(label)} × {escape(columns[j])}: {escape(legend[3])} = '
                f"{needs} / {offers}</title></rect>"
            )
            if needs or offers:
                parts.append(
                    _text(frame, cell_x + cell_w / 2 - 1, y + cell_h / 2 + 3, [f"{needs} / {offers}"], size=11,
                          anchor="middle", fill=ink)
                )  # fmt: skip
    x = 0.0
    for colour, text in (
        (_mix(GAP_NEEDS, 0.8), legend[0]),
        (_mix(GAP_NONE, 0), legend[1]),
        (_mix(GAP_OFFERS, 0.8), legend[2]),
    ):
        parts.append(
            f'<rect x="{frame.x(x, 14):.1f}" y="{legend_top}" width="14" height="14" fill="{colour}" stroke="#8a96a6"/>'
        )
        parts.append(_text(frame, x + 19, legend_top + 11, [text], size=size, anchor="start"))
        x += 19 + text_width(text, size) + 24
    parts.append(_text(frame, 0, legend_top + 34, [legend[3]], size=size, anchor="start"))
    parts.append("</svg>")
    return mark_safe("".join(parts))
