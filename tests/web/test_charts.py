"""Dashboard charts: labels wrap between words (never cut inside one), charts mirror in
right-to-left pages, the demand/supply map colours the gap."""

from __future__ import annotations

import re

import pytest

from web.charts import bar_chart, demand_supply_map, gap_colour, wrap_label

LONG = "22. Embezzlement of property in the private sector"


def test_labels_wrap_between_words_and_keep_every_word_whole():
    lines = wrap_label(LONG, width=160, size=11)
    assert len(lines) > 1
    assert " ".join(lines) == LONG
    assert all(line.strip() for line in lines)


def test_a_label_too_long_for_its_lines_ends_after_a_whole_word():
    text = "16. Bribery of foreign public officials and officials of public international organizations"
    lines = wrap_label(text, width=120, size=11, max_lines=2)
    assert len(lines) == 2
    assert lines[-1].endswith(" …")
    words = set(text.split())
    assert all(word in words for line in lines for word in line.replace(" …", "").split())


def test_chinese_labels_wrap_between_characters():
    lines = wrap_label("第十六条 贿赂外国公职人员或者国际公共组织官员", width=80, size=11)
    assert len(lines) > 1
    assert all(len(line) <= 8 for line in lines), lines
    assert lines[-1].endswith("…")


@pytest.mark.parametrize("rtl", [False, True])
def test_bar_chart_mirrors_in_right_to_left_pages(rtl):
    svg = bar_chart([(LONG, [3, 1])], ["Needs", "Offers"], title="t", rtl=rtl, width=760, label_width=280)
    assert "Embezzlement of property in the private sect<" not in svg  # no mid-word cut
    first_bar = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="12" fill="[^"]+"><title>', svg)
    x, width = float(first_bar.group(1)), float(first_bar.group(2))
    label_x = float(re.search(r'<tspan x="([\d.]+)"', svg).group(1))
    if rtl:
        assert x + width == pytest.approx(760 - 280, abs=0.2)  # bars grow leftwards from the labels
        assert label_x > x + width
        assert 'direction="rtl"' in svg
    else:
        assert x == 280
        assert label_x < x


def test_map_cells_say_needs_and_offers_and_colour_the_gap():
    svg = demand_supply_map(
        ["Africa", "Asia"],
        [("8. Codes of conduct for public officials", [(3, 1), (1, 4)])],
        title="t",
        row_title="Article",
        legend=("More needs", "Balanced", "More offers", "needs / offers"),
    )
    assert ">3 / 1<" in svg
    assert ">1 / 4<" in svg
    assert "Codes of conduct for public officials" in svg
    needs_fill, _ = gap_colour(3, 1, 3)
    offers_fill, _ = gap_colour(1, 4, 3)
    balanced, _ = gap_colour(2, 2, 3)
    assert len({needs_fill, offers_fill, balanced}) == 3
    for legend in ("More needs", "Balanced", "More offers"):
        assert legend in svg
