"""What the page-by-page look of 2026-12-04 found, each kept from coming back, in a real Chromium:
a Chinese select cut on Browse, the People table scrolling sideways on a phone, "Юг-Юг" broken at
its hyphen, and date fields in the browser's locale order (mm/dd/yyyy in English)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from kb.models import AssistanceNeed, EntryStatus
from tests.e2e.test_look import PHONE, demo, sign_in  # noqa: F401 (demo is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
DESKTOP = {**PHONE, "width": 1280, "height": 900, "mobile": False}

# How wide a select's chosen words are, set in the select's own font, against the room inside it.
FITS = """
const select = arguments[0], style = getComputedStyle(select);
const probe = document.createElement('span');
probe.style.font = style.font; probe.style.whiteSpace = 'nowrap'; probe.style.position = 'absolute';
probe.textContent = select.options[select.selectedIndex].text;
document.body.appendChild(probe);
const words = probe.getBoundingClientRect().width; probe.remove();
const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
return [words, room];
"""

# How many lines a text takes when its box is squeezed to nothing.
LINES_WHEN_SQUEEZED = """
const clone = arguments[0].cloneNode(true), box = document.createElement('div');
box.style.width = '1px'; box.appendChild(clone); document.querySelector('main').appendChild(box);
const range = document.createRange(); range.selectNodeContents(clone);
const tops = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
box.remove();
return tops.size;
"""


@pytest.mark.parametrize("metrics", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_chinese_browse_selects_show_their_whole_words(chrome, live_server, demo, metrics):  # noqa: F811
    sign_in(chrome, live_server.url, "civ.focal@example.org", "zh-hans")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    chrome.get(live_server.url + "/browse/")
    for select in chrome.find_elements(By.CSS_SELECTOR, ".search-row select"):
        words, room = chrome.execute_script(FITS, select)
        assert words <= room, (select.get_attribute("id"), words, room)  # "专门知识提供和援助需求" was cut
        assert select.rect["x"] >= 0
        assert select.rect["x"] + select.rect["width"] <= metrics["width"]


def test_the_people_table_is_one_card_per_person_on_a_phone(chrome, live_server, demo):  # noqa: F811
    sign_in(chrome, live_server.url, "moderator@example.org", "ru")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    chrome.get(live_server.url + "/people/")
    table = chrome.find_element(By.CSS_SELECTOR, "table.stack-table")
    wrap = table.find_element(By.XPATH, "..")
    assert chrome.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", wrap)
    assert table.rect["width"] <= PHONE["width"]
    assert table.find_element(By.CSS_SELECTOR, "thead").rect["x"] < 0  # the column names are off screen
    row = table.find_elements(By.CSS_SELECTOR, "tbody tr")[0]
    cells = row.find_elements(By.CSS_SELECTOR, "td[data-label]")
    assert [cell.rect["x"] for cell in cells] == [cells[0].rect["x"]] * len(cells)  # stacked, not side by side
    label = chrome.execute_script("return getComputedStyle(arguments[0], '::before').content", cells[0])
    assert label.strip('"') == "Адрес электронной почты"  # each value under its column's name
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)
    chrome.get(live_server.url + "/people/")
    assert chrome.find_element(By.CSS_SELECTOR, "table.stack-table thead").is_displayed()  # a table on a desktop


def test_russian_south_south_stays_whole(chrome, live_server, demo):  # noqa: F811
    sign_in(chrome, live_server.url, "civ.focal@example.org", "ru")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    badges = []
    needs = AssistanceNeed.objects.filter(country__iso3="CIV", status=EntryStatus.PUBLISHED).order_by("pk")
    for need in needs:
        chrome.get(f"{live_server.url}/needs/{need.pk}/matches/")
        badges = [b for b in chrome.find_elements(By.CSS_SELECTOR, ".badge.ss") if "Юг" in b.text]
        if badges:
            break
    assert badges, "no South-South candidate in the demo content"
    assert chrome.execute_script(LINES_WHEN_SQUEEZED, badges[0]) == 1, badges[0].text


def test_date_fields_show_year_month_day_in_an_english_chromium(chrome, live_server, demo):  # noqa: F811
    sign_in(chrome, live_server.url, "civ.focal@example.org", "en")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)
    chrome.get(live_server.url + "/needs/new/")
    start = chrome.find_element(By.NAME, "timeframe_start")
    assert start.get_attribute("type") == "text"  # the browser's date field showed mm/dd/yyyy
    assert start.get_attribute("placeholder") == "yyyy-mm-dd"
    hint = chrome.find_element(By.ID, "id_timeframe_start_helptext")
    assert hint.is_displayed()
    assert hint.text == "Year-month-day, for example 2027-03-15."
    assert 0 <= hint.rect["y"] - (start.rect["y"] + start.rect["height"]) < 30  # right under the field
    start.send_keys("2027-03-15")
    assert start.get_attribute("value") == "2027-03-15"
