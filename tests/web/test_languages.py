"""Six languages as their readers expect: mixed-direction text isolated, country names in the
reader's language on every card, CSV files that spreadsheets open in any script."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import override

from kb.content import entry_content
from kb.models import Country
from kb.services.entries import need_create, offer_create
from kb.services.moderation import entry_transition
from matching.models import Engagement

pytestmark = pytest.mark.django_db

COMPLETE = {"description": "Text.", "articles": [8], "ta_types": ["capacity_building"]}


def browser(actor, language="en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(actor.user)
    return client


def published(entry, owner, moderator):
    entry_transition(actor=owner.user, entry=entry, action="submit")
    return entry_transition(actor=moderator.user, entry=entry, action="publish")


class IsolationChecker(HTMLParser):
    """Records, for each text chunk containing one of ``needles``, whether an ancestor isolates it
    (``<bdi>`` or ``dir="auto"``)."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}

    def __init__(self, needles):
        super().__init__()
        self.needles, self.stack, self.found = needles, [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for needle in self.needles:
            if needle in data:
                isolated = any(t == "bdi" or a.get("dir") == "auto" for t, a in self.stack)
                inside_title = any(t in ("title", "option") for t, _a in self.stack)
                if not inside_title:
                    self.found.append((needle, isolated))


def isolation(page: str, *needles: str):
    checker = IsolationChecker(needles)
    checker.feed(page)
    return checker.found


@pytest.fixture
def proposal(civ, kor, moderator):
    need = published(
        need_create(
            actor=civ.user,
            organisation=civ.organisation,
            content=entry_content("need", {**COMPLETE, "title": "Vérification numérique", "language": "fr"}),
        ),
        civ,
        moderator,
    )
    offer = published(
        offer_create(
            actor=kor.user,
            organisation=kor.organisation,
            content=entry_content("offer", {**COMPLETE, "title": "1. Online declaration system", "language": "en"}),
        ),
        kor,
        moderator,
    )
    engagement = Engagement.objects.create(
        need=need, offer=offer, need_title=need.title, offer_title=offer.title, state="proposed"
    )
    from matching.services.notifications import notify_proposals

    notify_proposals(engagements=[engagement])
    return engagement


def test_titles_on_the_arabic_home_page_are_bidi_isolated(civ, proposal):
    page = browser(civ, "ar").get(reverse("web:home")).content.decode()
    found = isolation(page, "Vérification numérique", "1. Online declaration system")
    assert {needle for needle, _ in found} == {"Vérification numérique", "1. Online declaration system"}
    assert all(isolated for _needle, isolated in found), found


@pytest.mark.parametrize(
    "page",
    ["web:my-entries", "web:inbox", "web:notifications", "entry", "matches", "engagement"],
)
def test_titles_are_isolated_on_every_page_that_shows_them(page, civ, proposal):
    urls = {
        "entry": reverse("web:entry", args=["need", proposal.need_id]),
        "matches": reverse("web:need-matches", args=[proposal.need_id]),
        "engagement": reverse("web:engagement", args=[proposal.pk]),
    }
    html = browser(civ, "ar").get(urls.get(page) or reverse(page)).content.decode()
    found = isolation(html, "Vérification numérique", "1. Online declaration system")
    assert all(isolated for _needle, isolated in found), found


def test_result_cards_name_the_state_in_the_readers_language(civ, kor, moderator, settings):
    settings.SEARCH_BACKEND = "embedded"
    from kb.search import reset_backend

    reset_backend(None)
    published(
        offer_create(
            actor=kor.user,
            organisation=kor.organisation,
            content=entry_content("offer", {**COMPLETE, "title": "Integrity assessment", "language": "en"}),
        ),
        kor,
        moderator,
    )
    korea = Country.objects.get(iso3="KOR")
    for language in ("ar", "fr", "zh-hans", "ru", "es"):
        with override(language):
            local = korea.display_name
        page = browser(civ, language).get(reverse("web:browse")).content.decode()
        card = page[page.index('class="card result"') :]
        card = card[: card.index("</article>")]
        assert local in card, (language, local)
        assert korea.name not in card, language


def test_csv_downloads_carry_a_bom_and_the_readers_headers(moderator, civ, kor):
    published(
        need_create(
            actor=civ.user,
            organisation=civ.organisation,
            content=entry_content("need", {**COMPLETE, "title": "Besoin", "language": "fr"}),
        ),
        civ,
        moderator,
    )
    client = browser(moderator, "fr")
    response = client.get(reverse("web:dashboard-csv", args=["uncovered"]))
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][4] == "État"
    assert rows[1][3:6] == ["CIV", Country.objects.get(iso3="CIV").names["fr"], rows[1][5]]
    assert rows[1][5][:4].isdigit()
    assert rows[1][5][4] == "-"  # ISO dates
    arabic = browser(moderator, "ar").get(reverse("web:dashboard-csv", args=["regions"])).content.decode("utf-8-sig")
    header, *body = list(csv.reader(io.StringIO(arabic)))
    assert header[2] == "الاحتياجات"
    with override("ar"):
        africa = next(r for r in body if r[0] == "Africa")
    assert africa[1] != "Africa"  # the label is Arabic, the code stays for machines


def test_quoted_words_of_a_match_reason_keep_their_quotes_around_them_in_arabic():
    """An Arabic reason showed ”patrimoine“, ”déclarations“: the quotes took the sentence's direction."""
    from matching.reasons import FSI, PDI, render_reason

    with override("ar"):
        rendered = render_reason({"code": "text", "params": {"words": ["patrimoine", "déclarations"]}})
    assert f"{FSI}“patrimoine”{PDI}, {FSI}“déclarations”{PDI}" in rendered
    with override("ar"):
        sentence = render_reason({"code": "semantic", "params": {"sentence": "We offer training."}})
    assert f"{FSI}We offer training.{PDI}" in sentence
