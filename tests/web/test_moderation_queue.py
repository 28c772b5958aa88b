"""Moderation in the app: the queue (oldest first), the pending changes against the published
text on an entry's page, and the admin change page's moderation buttons instead of internals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer, RevisionStatus
from kb.services.entries import entry_update, need_create, offer_create
from kb.services.moderation import entry_transition
from kb.services.revisions import entry_pending_diff, text_diff

pytestmark = pytest.mark.django_db

OFFER = {
    "title": "Asset declaration verification",
    "description": "A two-week course for verifiers of asset declarations.",
    "language": "en",
    "articles": [8],
    "ta_types": ["capacity_building"],
}
NEED = {**OFFER, "title": "Verifying asset declarations", "description": "Our verifiers need training."}


def browser(actor, language="en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(actor.user)
    return client


def published_offer(owner, moderator, **data):
    offer = offer_create(actor=owner.user, organisation=owner.organisation, data={**OFFER, **data})
    entry_transition(actor=owner.user, entry=offer, action="submit")
    entry_transition(actor=moderator.user, entry=offer, action="publish")
    offer.refresh_from_db()
    return offer


def submitted_need(owner, **data):
    need = need_create(actor=owner.user, organisation=owner.organisation, data={**NEED, **data})
    entry_transition(actor=owner.user, entry=need, action="submit")
    need.refresh_from_db()
    return need


def test_text_diff_marks_removed_and_added_words_and_keeps_the_rest():
    segments = text_diff("A two-week course for verifiers.", "A three-week course for auditors.")
    assert "".join(s.text for s in segments if s.op != "ins") == "A two-week course for verifiers."
    assert "".join(s.text for s in segments if s.op != "del") == "A three-week course for auditors."
    assert [s.text for s in segments if s.op == "del"] == ["two", "verifiers"]
    assert [s.text for s in segments if s.op == "ins"] == ["three", "auditors"]


def test_queue_lists_new_submissions_and_submitted_changes_oldest_first(civ, kor, moderator):
    changed = published_offer(civ, moderator)
    entry_update(actor=civ.user, entry=changed, data={"title": "Asset declaration verification, advanced"})
    old_need = submitted_need(kor, title="Oldest need")
    AssistanceNeed.objects.filter(pk=old_need.pk).update(submitted_at=timezone.now() - dt.timedelta(days=3))
    submitted_need(civ, title="Newest need")
    need_create(actor=civ.user, organisation=civ.organisation, data={**NEED, "title": "A draft nobody reviews"})
    published_offer(civ, moderator, title="Published and unchanged")

    page = browser(moderator).get(reverse("web:moderation-queue"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "A draft nobody reviews" not in html
    assert "Published and unchanged" not in html
    assert html.index("Oldest need") < html.index("Asset declaration verification") < html.index("Newest need")
    assert "Changes to a published entry" in html
    assert "New submission" in html


def test_queue_is_for_moderators_only(civ, outsider):
    for actor in (civ, outsider):
        assert browser(actor).get(reverse("web:moderation-queue")).status_code == 403
    assert Client().get(reverse("web:moderation-queue")).status_code == 302  # to sign in


def test_moderator_reads_the_pending_changes_against_the_published_text_and_approves(civ, moderator):
    offer = published_offer(civ, moderator)
    entry_update(
        actor=civ.user,
        entry=offer,
        data={"description": "A three-week course for verifiers of asset declarations.", "articles": [8, 20]},
    )
    offer.refresh_from_db()
    assert offer.revision_status == RevisionStatus.SUBMITTED

    page = browser(moderator).get(reverse("web:entry", args=["offer", offer.pk]))
    html = page.content.decode()
    assert "Changes awaiting review" in html
    assert "<del>two</del><ins>three</ins>" in html.replace("\n", "")
    assert "Art. 20" in html.split("Changes awaiting review")[1]
    assert reverse("web:entry-action", args=["offer", offer.pk, "publish"]) in html

    browser(moderator).post(reverse("web:entry-action", args=["offer", offer.pk, "publish"]))
    offer.refresh_from_db()
    assert offer.description.startswith("A three-week course")
    assert offer.revision_status == RevisionStatus.NONE
    assert entry_pending_diff(offer) == []


def test_another_state_sees_the_published_text_and_no_pending_changes(civ, kor, moderator):
    offer = published_offer(civ, moderator)
    entry_update(actor=civ.user, entry=offer, data={"title": "Secret new title"})

    html = browser(kor).get(reverse("web:entry", args=["offer", offer.pk])).content.decode()

    assert "Asset declaration verification" in html
    assert "Secret new title" not in html
    assert "Changes awaiting review" not in html


def test_authors_see_their_own_pending_changes(civ, moderator):
    offer = published_offer(civ, moderator)
    entry_update(actor=civ.user, entry=offer, data={"capacity": 7})

    html = browser(civ).get(reverse("web:entry", args=["offer", offer.pk])).content.decode()

    assert "Changes awaiting review" in html
    changes = entry_pending_diff(ExpertiseOffer.objects.get(pk=offer.pk))
    assert [(c.name, c.after) for c in changes] == [("capacity", "7")]


def test_admin_change_page_shows_moderation_buttons_not_internals(civ, moderator):
    need = submitted_need(civ, keywords=["declarations", "audit"])
    client = browser(moderator)

    page = client.get(reverse("admin:kb_assistanceneed_change", args=[need.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "row version" not in html.lower()
    assert "declarations; audit" in html
    assert '["declarations"' not in html
    publish = reverse("web:entry-action", args=["need", need.pk, "publish"])
    assert f'action="{publish}"' in html
    assert reverse("web:entry-action", args=["need", need.pk, "return"]) in html

    client.post(publish)
    need.refresh_from_db()
    assert need.status == EntryStatus.PUBLISHED
