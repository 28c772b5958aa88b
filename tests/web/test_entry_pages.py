"""What a focal point sees on entry pages: the status badge of every entry, the text-language
picker, the submit rule shown beside its fields, and the confirmation before a draft is deleted."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kb.content import entry_content
from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer
from kb.services.entries import entry_update, offer_create
from kb.services.moderation import entry_transition

pytestmark = pytest.mark.django_db

COMPLETE = {
    "title": "Asset declaration verification",
    "description": "A course for verifiers.",
    "language": "en",
    "articles": [8],
    "ta_types": ["capacity_building"],
}


def browser(actor, language="en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(actor.user)
    return client


def offer_in(state: str, owner, moderator, **data):
    offer = offer_create(
        actor=owner.user, organisation=owner.organisation, content=entry_content("offer", {**COMPLETE, **data})
    )
    steps = {
        "draft": [],
        "submitted": [(owner, "submit")],
        "returned": [(owner, "submit"), (moderator, "return")],
        "published": [(owner, "submit"), (moderator, "publish")],
        "published_changes_submitted": [(owner, "submit"), (moderator, "publish"), (owner, "edit")],
        "archived": [(owner, "submit"), (moderator, "publish"), (owner, "archive")],
    }[state]
    for actor, action in steps:
        if action == "edit":
            entry_update(actor=actor.user, entry=offer, content=entry_content(offer, {"title": "New title"}))
        else:
            entry_transition(actor=actor.user, entry=offer, action=action, reason="Please add the audience.")
        offer.refresh_from_db()
    return offer


BADGES = {
    "draft": "Draft",
    "submitted": "Submitted for review",
    "returned": "Returned to author",
    "published": "Published",
    "published_changes_submitted": "Published; changes under review",
    "archived": "Archived",
}


@pytest.mark.parametrize("state", list(BADGES))
def test_every_entry_shows_its_status_on_my_entries_and_its_page(state, civ, moderator):
    offer = offer_in(state, civ, moderator)
    for url in (reverse("web:my-entries"), reverse("web:entry", args=["offer", offer.pk])):
        page = browser(civ).get(url).content.decode()
        badge = re.search(r'<span class="badge status-([a-z_]+)[^"]*">([^<]*)</span>', page)
        assert badge, url
        assert badge.groups() == (state, BADGES[state])
    page = browser(civ, "fr").get(reverse("web:my-entries")).content.decode()
    french = re.search(r'<span class="badge status-[a-z_]+[^"]*">([^<]*)</span>', page).group(1)
    assert french.strip()
    assert french != BADGES[state]


@pytest.mark.parametrize(("language", "code"), [("en", "en"), ("fr", "fr"), ("zh-hans", "zh"), ("ar", "ar")])
def test_the_text_language_defaults_to_the_interface_language(language, code, civ):
    form = browser(civ, language).get(reverse("web:entry-create", args=["need"])).context["form"]
    assert form["language"].value() == code
    page = browser(civ, language).get(reverse("web:entry-create", args=["need"])).content.decode()
    start = page.index('id="id_language"')
    select = page[start : page.index("</select>", start)]
    options = re.findall(r'<option value="([a-z]{2})"', select)
    assert sorted(options[:6]) == ["ar", "en", "es", "fr", "ru", "zh"]
    assert options[6] == "pt"
    assert len(options) > 100
    assert f'<option value="{code}" selected>' in select
    assert select.count("<optgroup") == 2


def test_save_and_submit_without_article_or_type_keeps_nothing_and_says_why(civ):
    response = browser(civ).post(
        reverse("web:entry-create", args=["offer"]),
        {
            "organisation": civ.organisation.pk,
            "title": "Integrity training",
            "description": "Courses.",
            "language": "en",
            "capacity": "2",
            "cost_arrangement": "provider_funded",
            "submit": "1",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "Choose at least one UNCAC article before submitting." in form.errors["articles"]
    assert "Choose at least one type of assistance before submitting." in form.errors["ta_types"]
    page = response.content.decode()
    assert page.index("Choose at least one UNCAC article") > page.index("<legend>UNCAC articles</legend>")
    assert not ExpertiseOffer.objects.exists()


def test_saving_an_incomplete_draft_is_fine(civ):
    response = browser(civ).post(
        reverse("web:entry-create", args=["need"]),
        {
            "organisation": civ.organisation.pk,
            "title": "Whistle-blower protection",
            "description": "A law is drafted.",
            "language": "fr",
            "priority": "medium",
            "south_south": "none",
            "providers_wanted": "1",
            "save": "1",
        },
    )
    assert response.status_code == 302
    assert AssistanceNeed.objects.get().status == EntryStatus.DRAFT


def test_submitting_an_incomplete_draft_from_its_page_opens_the_form_with_the_reasons(civ):
    draft = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {"title": "T", "description": "D", "language": "en"}),
    )
    response = browser(civ).post(reverse("web:entry-action", args=["offer", draft.pk, "submit"]))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"articles", "ta_types"}
    assert f'action="{reverse("web:entry-edit", args=["offer", draft.pk])}"' in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == EntryStatus.DRAFT


def test_deleting_a_draft_asks_first(civ, moderator):
    draft = offer_in("draft", civ, moderator)
    client = browser(civ)
    detail = client.get(reverse("web:entry", args=["offer", draft.pk])).content.decode()
    confirm_url = reverse("web:entry-delete", args=["offer", draft.pk])
    assert f'href="{confirm_url}"' in detail  # a link to a confirmation, not a delete button
    page = client.get(confirm_url)
    assert page.status_code == 200
    assert "cannot be undone" in page.content.decode()
    assert ExpertiseOffer.objects.filter(pk=draft.pk).exists()
    assert client.post(confirm_url).status_code == 302
    assert not ExpertiseOffer.objects.filter(pk=draft.pk).exists()


def test_a_published_entry_cannot_be_deleted_even_through_the_confirmation(civ, moderator):
    offer = offer_in("published", civ, moderator)
    client = browser(civ)
    client.post(reverse("web:entry-delete", args=["offer", offer.pk]))
    assert ExpertiseOffer.objects.filter(pk=offer.pk).exists()


def test_unknown_entry_action_is_a_400(civ, moderator):
    """An unknown verb is a bad request (issue 14), never a 500 and never a state change."""
    draft = offer_in("draft", civ, moderator)
    assert browser(civ).post(reverse("web:entry-action", args=["offer", draft.pk, "explode"])).status_code == 400
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_the_engagement_state_and_a_country_are_not_the_same_word(civ):
    """'State' means a country on the account page and a stage on an engagement page (ar, zh, ru)."""
    from django.utils.translation import override, pgettext

    for language, country, stage in [
        ("ar", "الدولة", "الحالة"),
        ("zh-hans", "国家", "状态"),
        ("ru", "Государство", "Состояние"),
    ]:
        with override(language):
            assert pgettext("country", "State") == country
            assert pgettext("engagement", "State") == stage
    page = browser(civ, "ar").get(reverse("web:account")).content.decode()
    assert '<th scope="col">الدولة</th>' in page


def test_engagement_page_says_its_state_not_a_country_and_history_in_words(civ, kor, moderator):
    from kb.services.entries import need_create
    from matching.services.engagements import engagement_express_interest

    offer = offer_in("published", kor, moderator)
    need = need_create(actor=civ.user, organisation=civ.organisation, content=entry_content("need", COMPLETE))
    entry_transition(actor=civ.user, entry=need, action="submit")
    need = entry_transition(actor=moderator.user, entry=need, action="publish")
    engagement = engagement_express_interest(actor=civ.user, need=need, offer=offer)
    page = browser(civ, "ar").get(reverse("web:engagement", args=[engagement.pk])).content.decode()
    assert "<strong>الحالة:</strong>" in page
    assert "<strong>الدولة:</strong>" not in page
    history = page[page.index('class="history"') :]
    assert "interested" not in history  # the code is shown as its label


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "3 Dec 2026"),
        ("ar", "3 ديسمبر 2026"),
        ("zh-hans", "2026年12月3日"),
        ("fr", "3 décembre 2026"),
        ("ru", "3 декабря 2026"),
        ("es", "3 dic 2026"),
    ],
)
def test_dates_have_the_month_in_words_in_every_language(language, expected, civ, moderator):
    import datetime as dt

    offer = offer_in("draft", civ, moderator)
    ExpertiseOffer.objects.filter(pk=offer.pk).update(updated_at=dt.datetime(2026, 12, 3, 8, 30, tzinfo=dt.UTC))
    page = browser(civ, language).get(reverse("web:my-entries")).content.decode()
    assert expected in page
    assert not re.search(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{4}\b", page)


def test_a_superseded_proposal_says_why_and_only_the_recipient_sees_its_replacement(civ, kor):
    from matching.models import Engagement
    from matching.services.proposals import _supersede
    from tests.conftest import _focal_point
    from tests.factories import NeedFactory, OfferFactory

    rwa = _focal_point("RWA")
    need = NeedFactory(organisation=civ.organisation, country=civ.organisation.country, published=True)
    old_offer = OfferFactory(organisation=kor.organisation, published=True)
    old = Engagement.objects.create(need=need, offer=old_offer, need_title=need.title, offer_title=old_offer.title)
    new_offer = OfferFactory(organisation=rwa.organisation, published=True, title="Rwandan replacement offer")
    new = Engagement.objects.create(need=need, offer=new_offer, need_title=need.title, offer_title=new_offer.title)
    _supersede({old.pk: "capacity_gone"})
    Engagement.objects.filter(pk=old.pk).update(replaced_by=new)
    url = reverse("web:engagement", args=[old.pk])

    page = browser(civ, "fr").get(url).content.decode()
    assert "plus de capacité pour cette proposition." in page
    assert reverse("web:engagement", args=[new.pk]) in page
    assert "Rwandan replacement offer" in page
    history = page[page.index('class="history"') :]
    assert "capacity_gone" not in history  # the reason in words

    provider_page = browser(kor).get(url).content.decode()
    assert "The offer has no capacity left for this proposal." in provider_page
    assert "Rwandan replacement offer" not in provider_page  # another provider's pair is not theirs
    assert "Matching proposed another provider for the need." in provider_page

    assert browser(rwa).get(url).status_code == 404  # another State's engagement


def test_an_imported_entrys_history_has_no_english_reason_in_arabic(civ):
    """The history said "استُورد: bulk import": the import's reason was English text in every language."""
    import json

    from kb.services.importing import entries_import

    line = {
        "kind": "need", "external_id": "CIV-IMP-1", "country": "CIV", "title": "Registre des avoirs",
        "description": "Un registre en ligne.", "language": "fr", "uncac_articles": [8], "ta_types": ["technology"],
        "status": "published",
    }  # fmt: skip
    assert entries_import(lines=[json.dumps(line)], publish=True).ok
    need = AssistanceNeed.objects.get(external_id="CIV-IMP-1")
    page = browser(civ, "ar").get(reverse("web:entry", args=["need", need.pk])).content.decode()
    assert "استُورد" in page
    assert "bulk import" not in page


def test_the_keywords_label_is_in_the_readers_language_and_the_keywords_in_the_entrys(civ, moderator):
    """The Arabic label "الكلمات الرئيسية" sat inside the entry's lang="en" block (read out as English)."""
    from html.parser import HTMLParser

    class Languages(HTMLParser):
        """The language in force (the nearest ``lang``) at each piece of text."""

        VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}

        def __init__(self):
            super().__init__()
            self.stack, self.texts = [], []

        def handle_starttag(self, tag, attrs):
            if tag not in self.VOID:
                self.stack.append(dict(attrs).get("lang") or (self.stack[-1] if self.stack else None))

        def handle_endtag(self, tag):
            if tag not in self.VOID and self.stack:
                self.stack.pop()

        def handle_data(self, data):
            if data.strip():
                self.texts.append((data.strip(), self.stack[-1] if self.stack else None))

    offer = offer_in("published", civ, moderator, keywords=["integrity", "audit"])
    parser = Languages()
    parser.feed(browser(civ, "ar").get(reverse("web:entry", args=["offer", offer.pk])).content.decode())
    languages = dict(parser.texts)
    assert languages["الكلمات الرئيسية:"] == "ar"
    assert languages["integrity, audit"] == offer.language_id == "en"
