"""Moderation in the app: the queue (oldest first), the pending changes against the published
text on an entry's page, and the admin change page's moderation buttons instead of internals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from kb.content import entry_content
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
    offer = offer_create(
        actor=owner.user, organisation=owner.organisation, content=entry_content("offer", {**OFFER, **data})
    )
    entry_transition(actor=owner.user, entry=offer, action="submit")
    entry_transition(actor=moderator.user, entry=offer, action="publish")
    offer.refresh_from_db()
    return offer


def submitted_need(owner, **data):
    need = need_create(
        actor=owner.user, organisation=owner.organisation, content=entry_content("need", {**NEED, **data})
    )
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
    entry_update(
        actor=civ.user,
        entry=changed,
        content=entry_content(changed, {"title": "Asset declaration verification, advanced"}),
    )
    old_need = submitted_need(kor, title="Oldest need")
    AssistanceNeed.objects.filter(pk=old_need.pk).update(submitted_at=timezone.now() - dt.timedelta(days=3))
    submitted_need(civ, title="Newest need")
    need_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("need", {**NEED, "title": "A draft nobody reviews"}),
    )
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
        content=entry_content(
            offer, {"description": "A three-week course for verifiers of asset declarations.", "articles": [8, 20]}
        ),
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
    entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Secret new title"}))

    html = browser(kor).get(reverse("web:entry", args=["offer", offer.pk])).content.decode()

    assert "Asset declaration verification" in html
    assert "Secret new title" not in html
    assert "Changes awaiting review" not in html


def test_authors_see_their_own_pending_changes(civ, moderator):
    offer = published_offer(civ, moderator)
    entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"capacity": 7}))

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


def test_the_demo_content_gives_the_moderators_queue_something_on_the_first_day(settings, tmp_path):
    from kb.services.demo import demo_content_load

    settings.VAR_DIR = tmp_path
    demo_content_load()
    demo_content_load()  # loading again adds nothing
    changed = ExpertiseOffer.objects.filter(revision_status=RevisionStatus.SUBMITTED)
    assert changed.count() == 1
    moderator = User.objects.get(email="moderator@example.org")
    page = Client()
    page.force_login(moderator)
    html = page.get(reverse("web:moderation-queue")).content.decode()
    assert escape(changed.get().title) in html
    assert "Changes to a published entry" in html


def test_moderators_publish_and_return_from_the_queue_and_come_back_to_it(civ, kor, moderator):
    first = submitted_need(civ, title="Need to publish")
    second = submitted_need(kor, title="Need to return")
    client = browser(moderator)
    queue = reverse("web:moderation-queue")
    html = client.get(queue).content.decode()
    assert reverse("web:entry-action", args=["need", first.pk, "publish"]) in html

    published = client.post(reverse("web:entry-action", args=["need", first.pk, "publish"]), {"next": queue})
    returned = client.post(
        reverse("web:entry-action", args=["need", second.pk, "return"]), {"next": queue, "reason": "Add the audience."}
    )

    assert published.status_code == returned.status_code == 302
    assert published["Location"] == returned["Location"] == queue
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == EntryStatus.PUBLISHED
    assert second.status == EntryStatus.RETURNED
    assert second.moderation_reason == "Add the audience."
    # A focal point cannot act from a forged queue form: the service refuses, nothing changes.
    third = submitted_need(kor, title="Not theirs to publish")
    browser(civ).post(reverse("web:entry-action", args=["need", third.pk, "publish"]), {"next": queue})
    third.refresh_from_db()
    assert third.status == EntryStatus.SUBMITTED


def test_the_next_field_only_brings_back_to_the_queue(civ, moderator):
    need = submitted_need(civ)
    answer = browser(moderator).post(
        reverse("web:entry-action", args=["need", need.pk, "publish"]), {"next": "https://evil.example/"}
    )
    assert answer["Location"] == reverse("web:entry", args=["need", need.pk])


def test_changes_to_a_published_entry_wait_in_the_queue_from_when_they_were_proposed(civ, moderator):
    offer = published_offer(civ, moderator)
    ExpertiseOffer.objects.filter(pk=offer.pk).update(submitted_at=None)  # as an imported entry has
    older = submitted_need(civ, title="Submitted before the change")
    entry_update(
        actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Changed after the need was submitted"})
    )
    offer.refresh_from_db()
    assert offer.submitted_at is not None
    assert offer.submitted_at >= older.submitted_at
    entry_update(
        actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Changed again"})
    )  # still the same wait
    assert ExpertiseOffer.objects.get(pk=offer.pk).submitted_at == offer.submitted_at
    html = browser(moderator).get(reverse("web:moderation-queue")).content.decode()
    assert html.index("Submitted before the change") < html.index(escape(offer.title))
