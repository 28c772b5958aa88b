"""Moderation people notice: moderators hear of submissions, authors of publication and returns
(with the reason), in the app and by e-mail through the notification outbox, with a deep link."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from core.state_machine import IllegalTransition
from kb.content import entry_content
from kb.models import Country
from kb.services.entries import entry_update, offer_create
from kb.services.moderation import entries_transition_bulk, entry_transition
from matching.models import Notification
from tests.factories import NeedFactory

pytestmark = pytest.mark.django_db


def _offer(actor):
    return offer_create(
        actor=actor.user,
        organisation=actor.organisation,
        content=entry_content(
            "offer",
            {
                "title": "Asset declaration training",
                "description": "A course.",
                "language": "en",
                "articles": [8],
                "ta_types": ["capacity_building"],
            },
        ),
    )


def _kinds(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("kind", flat=True))


def test_a_submission_tells_the_moderators_by_email_with_a_link(
    civ, kor, moderator, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://ta.example.org"
    offer = _offer(civ)
    with django_capture_on_commit_callbacks(execute=True):
        entry_transition(actor=civ.user, entry=offer, action="submit")
    assert _kinds(moderator.user) == ["entry_submit"]
    assert _kinds(civ.user) == [], "only the moderators hear of a submission"
    assert _kinds(kor.user) == []
    [email] = mail.outbox
    assert email.to == [moderator.user.email]
    assert offer.title in email.subject
    assert f"https://ta.example.org/offers/{offer.pk}/" in email.body
    assert Notification.objects.get(user=moderator.user).emailed_at is not None


def test_a_return_tells_every_focal_point_of_the_organisation_the_reason_in_their_language(
    civ, civ_colleague, kor, moderator, django_capture_on_commit_callbacks
):
    civ_colleague.user.preferred_language = "fr"
    civ_colleague.user.save()
    offer = entry_transition(actor=civ.user, entry=_offer(civ), action="submit")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        entry_transition(actor=moderator.user, entry=offer, action="return", reason="Name the articles covered.")
    assert _kinds(civ.user) == ["entry_return"]
    assert _kinds(civ_colleague.user) == ["entry_return"]
    assert _kinds(kor.user) == [], "another State's focal points hear nothing"
    assert _kinds(moderator.user) == ["entry_submit"], "the moderator who returned it is not told"
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {civ.user.email, civ_colleague.user.email}
    assert "Name the articles covered." in by_address[civ.user.email].body
    assert "was returned to you" in by_address[civ.user.email].subject
    french = by_address[civ_colleague.user.email]
    assert "vous a été renvoyée" in french.subject
    assert "Motif indiqué\xa0: Name the articles covered." in french.body


def test_publication_tells_the_authors(civ, moderator):
    offer = entry_transition(actor=civ.user, entry=_offer(civ), action="submit")
    entry_transition(actor=moderator.user, entry=offer, action="publish")
    [notification] = Notification.objects.filter(user=civ.user)
    assert notification.kind == "entry_publish"
    assert notification.params == {"entry_kind": "offer", "entry_id": offer.pk, "title": offer.title, "reason": ""}
    entry_transition(actor=moderator.user, entry=offer, action="unpublish", reason="Out of date.")
    assert _kinds(civ.user) == ["entry_publish", "entry_unpublish"]


def test_a_states_need_tells_that_states_recipient_focal_points_only(civ, kor, moderator):
    need = NeedFactory(organisation=None, country=Country.objects.get(iso3="CIV"))
    need.status = "submitted"
    need.save()
    entry_transition(actor=moderator.user, entry=need, action="return", reason="Too vague.")
    assert _kinds(civ.user) == ["entry_return"]
    assert _kinds(kor.user) == []


def test_changes_to_a_published_entry_tell_the_moderators_once(civ, moderator):
    offer = entry_transition(actor=civ.user, entry=_offer(civ), action="submit")
    offer = entry_transition(actor=moderator.user, entry=offer, action="publish")
    Notification.objects.all().delete()
    offer = entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Better title"}))
    entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Even better title"}))
    assert _kinds(moderator.user) == ["entry_submit"]


def test_a_rolled_back_transition_notifies_nobody(civ, moderator):
    first = entry_transition(actor=civ.user, entry=_offer(civ), action="submit")
    draft = _offer(civ)  # a draft cannot be published: the whole bulk action rolls back
    Notification.objects.all().delete()
    with pytest.raises(IllegalTransition):
        entries_transition_bulk(actor=moderator.user, entries=[first, draft], action="publish")
    assert Notification.objects.count() == 0


def test_the_notifications_page_and_the_api_link_to_the_entry(civ, moderator, client):
    offer = entry_transition(actor=civ.user, entry=_offer(civ), action="submit")
    entry_transition(actor=moderator.user, entry=offer, action="return", reason="Name the articles covered.")
    path = reverse("web:entry", kwargs={"kind": "offer", "pk": offer.pk})
    [item] = civ.client.get(reverse("matching-api:notification-list")).json()["results"]
    assert item["url"] == path
    assert item["kind"] == "entry_return"
    assert "Name the articles covered." in item["text"]
    client.force_login(civ.user)
    page = client.get(reverse("web:notifications")).content.decode()
    assert f'href="{path}"' in page
    assert "Name the articles covered." in page
