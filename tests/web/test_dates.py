"""Dates are typed year-month-day in every language: a browser's own date field showed Chromium's
locale order (mm/dd/yyyy in English, read by UN staff as day/month), so date fields are text fields
that show, say and accept ISO 8601 only, whatever the page's language."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kb.models import AssistanceNeed

pytestmark = pytest.mark.django_db

HINTS = {
    "en": ("yyyy-mm-dd", "Year-month-day, for example 2027-03-15."),
    "fr": ("aaaa-mm-jj", "Année-mois-jour, par exemple 2027-03-15."),
    "ru": ("гггг-мм-дд", "Год-месяц-день, например 2027-03-15."),
    "zh-hans": ("年-月-日", "年-月-日，例如 2027-03-15。"),
    "ar": ("سنة-شهر-يوم", "السنة-الشهر-اليوم، مثلاً \u20662027-03-15\u2069."),  # the date isolated left to right
    "es": ("aaaa-mm-dd", "Año-mes-día, por ejemplo 2027-03-15."),
}


def signed_in(actor, language) -> Client:
    client = Client()
    client.force_login(actor.user)
    client.cookies["django_language"] = language
    return client


def date_input(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert found, name
    return found.group(0)


@pytest.mark.parametrize("language", HINTS)
def test_the_need_forms_dates_say_year_month_day_in_every_language(civ, language):
    html = signed_in(civ, language).get(reverse("web:entry-create", args=["need"])).content.decode()
    placeholder, hint = HINTS[language]
    for name in ("timeframe_start", "timeframe_end"):
        field = date_input(html, name)
        assert 'type="text"' in field  # not the browser's locale-ordered date field
        assert f'placeholder="{placeholder}"' in field
        assert 'dir="ltr"' in field
        assert 'inputmode="numeric"' in field
        assert f'aria-describedby="id_{name}_helptext"' in field
        assert f'id="id_{name}_helptext">{hint}</span>' in html


def test_a_day_first_date_is_refused_with_the_reason_and_iso_is_kept(civ):
    client = signed_in(civ, "en")
    url = reverse("web:entry-create", args=["need"])
    data = {
        "organisation": civ.organisation.pk, "title": "Asset recovery training", "description": "Help.",
        "language": "en", "priority": "medium", "south_south": "none", "providers_wanted": 1,
        "timeframe_start": "03/12/2027", "timeframe_end": "2027-12-31",
    }  # fmt: skip
    bad = client.post(url, data)
    assert bad.status_code == 200
    assert "Enter the date as year-month-day, for example 2027-03-15." in bad.content.decode()
    assert 'value="2027-12-31"' in date_input(bad.content.decode(), "timeframe_end")
    good = client.post(url, {**data, "timeframe_start": "2027-03-12"})
    assert good.status_code == 302, good.content.decode()[:2000]
    need = AssistanceNeed.objects.get(title="Asset recovery training")
    assert need.timeframe_start.isoformat() == "2027-03-12"
    assert need.timeframe_end.isoformat() == "2027-12-31"
    page = signed_in(civ, "ru").get(reverse("web:entry-edit", args=["need", need.pk])).content.decode()
    assert 'value="2027-03-12"' in date_input(page, "timeframe_start")  # not 12.03.2027 in Russian


def test_the_dashboards_period_filter_reads_year_month_day(moderator):
    client = signed_in(moderator, "fr")
    html = client.get(reverse("web:dashboard"), {"since": "2026-02-01"}).content.decode()
    since = date_input(html, "since")
    assert 'type="text"' in since
    assert 'value="2026-02-01"' in since
    assert 'placeholder="aaaa-mm-jj"' in since
    refused = client.get(reverse("web:dashboard"), {"since": "01/02/2026"}).content.decode()
    assert "Saisissez la date sous la forme année-mois-jour, par exemple 2027-03-15." in refused
