"""Working together on an engagement: the message thread (who reads and writes it, across
States), its notifications and e-mails, the daily digest, agreed dates and missions, the
timeline, the history in words, the outcome after completion."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from accounts.models import NotificationEmail
from matching.models import (
    MAX_MESSAGE_LENGTH,
    EngagementEvent,
    EngagementMessage,
    EngagementState,
    MessageSide,
    Notification,
)
from matching.selectors import engagement_event_changes, engagement_event_label, engagement_timeline
from matching.services.collaboration import (
    engagement_dates_set,
    engagement_message_post,
    engagement_outcome_record,
)
from matching.services.engagements import engagement_can_rate, engagement_rate, engagement_transition
from matching.services.notifications import notification_digest_send, notification_digests_send
from tests.conftest import published_sides
from tests.matching.test_services_engagements import bring_to

pytestmark = pytest.mark.django_db

E = EngagementState


@pytest.fixture
def sides(civ, db):
    """A published need of Côte d'Ivoire (civ's organisation) and a published Rwandan offer."""
    return published_sides(civ, capacity=1)


def _messages_url(engagement) -> str:
    return reverse("matching-api:engagement-messages", args=[engagement.pk])


# --- the thread ------------------------------------------------------------------------------


def test_both_sides_and_moderators_write_and_read_the_thread(sides, moderator, django_capture_on_commit_callbacks):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.PROPOSED, recipient, provider, need, offer)
    with django_capture_on_commit_callbacks(execute=True):
        first = engagement_message_post(author=provider.user, engagement=engagement, body="  We can start in March.  ")
        engagement_message_post(author=recipient.user, engagement=engagement, body="Merci, mars nous convient.")
        engagement_message_post(author=moderator.user, engagement=engagement, body="The secretariat can fund travel.")
    assert first.body == "We can start in March."
    assert first.side == MessageSide.PROVIDER
    listed = provider.client.get(_messages_url(engagement))
    assert listed.status_code == 200
    results = listed.json()["results"]
    assert [m["side"] for m in results] == ["provider", "recipient", "moderator"]
    assert results[1]["body"] == "Merci, mars nous convient."
    assert moderator.client.get(_messages_url(engagement)).json()["count"] == 3


def test_another_states_focal_point_gets_404_on_the_messages(sides, kor, outsider):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.ACCEPTED, recipient, provider, need, offer)
    engagement_message_post(author=recipient.user, engagement=engagement, body="Confidential planning")
    for stranger in (kor, outsider):
        assert stranger.client.get(_messages_url(engagement)).status_code == 404
        posted = stranger.client.post(_messages_url(engagement), {"body": "hello"}, format="json")
        assert posted.status_code == 404
    assert EngagementMessage.objects.count() == 1
    # and the service refuses them too, should a caller skip the selector
    with pytest.raises(PermissionDenied):
        engagement_message_post(author=kor.user, engagement=engagement, body="hello")


def test_a_message_notifies_the_other_side_with_a_deep_link(sides, settings, django_capture_on_commit_callbacks):
    recipient, provider, need, offer = sides
    settings.SITE_URL = "https://ta.example.org/"
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = recipient.client.post(
            _messages_url(engagement), {"body": "Pouvez-vous venir à Abidjan ?"}, format="json"
        )
    assert response.status_code == 201, response.content
    assert response.json()["side"] == "recipient"
    told = Notification.objects.get()
    assert told.user == provider.user
    assert told.kind == "engagement_message"
    assert not Notification.objects.filter(user=recipient.user).exists(), "the author is not told of their words"
    [message] = mail.outbox
    assert message.to == [provider.user.email]
    assert offer.title in message.subject
    assert "Pouvez-vous venir à Abidjan ?" in message.body
    assert f"https://ta.example.org/engagements/{engagement.pk}/" in message.body


def test_a_message_too_long_or_empty_is_refused_naming_the_field(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.PROPOSED, recipient, provider, need, offer)
    with pytest.raises(ValidationError) as too_long:
        engagement_message_post(author=provider.user, engagement=engagement, body="x" * (MAX_MESSAGE_LENGTH + 1))
    assert "body" in too_long.value.message_dict
    assert "Message:" in too_long.value.message_dict["body"][0]
    with pytest.raises(ValidationError) as empty:
        engagement_message_post(author=provider.user, engagement=engagement, body="   ")
    assert "body" in empty.value.message_dict
    response = provider.client.post(_messages_url(engagement), {"body": "x" * (MAX_MESSAGE_LENGTH + 1)}, format="json")
    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["body"]
    unknown = provider.client.post(_messages_url(engagement), {"body": "hi", "side": "moderator"}, format="json")
    assert unknown.status_code == 400, "read-only/unknown keys are refused by name"
    assert EngagementMessage.objects.count() == 0


# --- e-mail preferences and the daily digest -------------------------------------------------


def _notify_provider(recipient, engagement, text, capture):
    with capture(execute=True):
        engagement_message_post(author=recipient.user, engagement=engagement, body=text)


def test_daily_digest_sends_once_and_never_the_same_notification_twice(
    sides,
    settings,
    django_capture_on_commit_callbacks,
):
    recipient, provider, need, offer = sides
    settings.SITE_URL = "https://ta.example.org"
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    provider.user.notification_email = NotificationEmail.DAILY
    provider.user.save(update_fields=["notification_email"])
    Notification.objects.all().delete()
    mail.outbox.clear()
    _notify_provider(recipient, engagement, "First question", django_capture_on_commit_callbacks)
    _notify_provider(recipient, engagement, "Second question", django_capture_on_commit_callbacks)
    assert mail.outbox == [], "a daily reader gets no e-mail at once"

    assert notification_digests_send() == {"users": 1, "notifications": 2, "failed": 0}
    [digest] = mail.outbox
    assert digest.to == [provider.user.email]
    assert "2" in digest.subject
    assert "First question" in digest.body
    assert "Second question" in digest.body
    assert f"https://ta.example.org/engagements/{engagement.pk}/" in digest.body
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()

    # Re-run (a second beat, a redelivered task): nothing is sent again.
    assert notification_digests_send() == {"users": 0, "notifications": 0, "failed": 0}
    assert notification_digest_send(user_id=provider.user.pk) == 0
    assert len(mail.outbox) == 1

    # The next day's digest carries only what is new.
    _notify_provider(recipient, engagement, "Third question", django_capture_on_commit_callbacks)
    assert notification_digests_send()["notifications"] == 1
    assert "Third question" in mail.outbox[1].body
    assert "First question" not in mail.outbox[1].body


def test_no_email_reader_gets_none_and_immediate_readers_are_not_in_digests(
    sides,
    django_capture_on_commit_callbacks,
):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    provider.user.notification_email = NotificationEmail.NONE
    provider.user.save(update_fields=["notification_email"])
    mail.outbox.clear()
    _notify_provider(recipient, engagement, "Anyone there?", django_capture_on_commit_callbacks)
    assert Notification.objects.filter(user=provider.user, kind="engagement_message").exists(), "still in the app"
    assert mail.outbox == []
    assert notification_digests_send()["notifications"] == 0
    assert mail.outbox == []
    # An immediate reader's e-mail went at once; the digest never repeats it.
    with django_capture_on_commit_callbacks(execute=True):
        engagement_message_post(author=provider.user, engagement=engagement, body="Yes, here.")
    assert [m.to for m in mail.outbox] == [[recipient.user.email]]
    assert notification_digests_send()["notifications"] == 0
    assert len(mail.outbox) == 1


def test_the_preference_is_saved_with_a_clear_error_for_a_bad_value(sides):
    from accounts.services import user_set_notification_email

    recipient = sides[0]
    user_set_notification_email(user=recipient.user, value="daily")
    recipient.user.refresh_from_db()
    assert recipient.user.notification_email == "daily"
    with pytest.raises(ValidationError) as bad:
        user_set_notification_email(user=recipient.user, value="hourly")
    assert "notification_email" in bad.value.message_dict


def test_the_digest_is_a_registered_beat_task(settings):
    from core.tasks import registered

    entry = settings.CELERY_BEAT_SCHEDULE["notification-daily-digest"]
    assert registered(entry["task"])


# --- agreed dates, missions, timeline, history -----------------------------------------------


def test_dates_are_set_by_either_side_once_accepted(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    with pytest.raises(ValidationError) as early:
        engagement_dates_set(actor=recipient.user, engagement=engagement, start_date=dt.date(2027, 3, 1), end_date=None)
    assert "start_date" in early.value.message_dict
    engagement = engagement_transition(actor=provider.user, engagement=engagement, action="accept")
    engagement_dates_set(actor=recipient.user, engagement=engagement, start_date=dt.date(2027, 3, 1), end_date=None)
    engagement_dates_set(
        actor=provider.user, engagement=engagement, start_date=dt.date(2027, 3, 1), end_date=dt.date(2027, 3, 2)
    )
    engagement.refresh_from_db()
    assert (engagement.start_date, engagement.end_date) == (dt.date(2027, 3, 1), dt.date(2027, 3, 2))


def test_dates_and_missions_with_validation_naming_the_field(sides, kor):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.ACCEPTED, recipient, provider, need, offer)
    with pytest.raises(ValidationError) as backwards:
        engagement_dates_set(
            actor=provider.user, engagement=engagement, start_date=dt.date(2027, 3, 10), end_date=dt.date(2027, 3, 1)
        )
    assert list(backwards.value.message_dict) == ["end_date"]
    with pytest.raises(ValidationError) as unlabelled:
        engagement_dates_set(
            actor=provider.user,
            engagement=engagement,
            start_date=None,
            end_date=None,
            missions=[{"date": dt.date(2027, 3, 2), "label": " "}],
        )
    assert "missions" in unlabelled.value.message_dict
    with pytest.raises(PermissionDenied):
        engagement_dates_set(actor=kor.user, engagement=engagement, start_date=None, end_date=None)

    engagement_dates_set(
        actor=provider.user,
        engagement=engagement,
        start_date=dt.date(2027, 3, 1),
        end_date=dt.date(2027, 3, 20),
        missions=[{"date": dt.date(2027, 3, 9), "label": "Study visit to Kigali"}],
    )
    engagement = engagement_transition(actor=recipient.user, engagement=engagement, action="agree")
    engagement_dates_set(  # the recipient moves the end; the mission stays
        actor=recipient.user,
        engagement=engagement,
        start_date=dt.date(2027, 3, 1),
        end_date=dt.date(2027, 3, 25),
        missions=[{"date": dt.date(2027, 3, 9), "label": "Study visit to Kigali"}],
    )
    engagement.refresh_from_db()
    assert engagement.end_date == dt.date(2027, 3, 25)
    assert [(m.date, m.label) for m in engagement.missions.all()] == [(dt.date(2027, 3, 9), "Study visit to Kigali")]
    # each change told the other side once, never the one who made it
    assert Notification.objects.filter(user=recipient.user, kind="engagement_dates").count() == 1
    assert Notification.objects.filter(user=provider.user, kind="engagement_dates").count() == 1
    dates_events = list(EngagementEvent.objects.filter(engagement=engagement, action="dates").order_by("id"))
    assert len(dates_events) == 2
    assert dates_events[1].changes == {"end_date": ["2027-03-20", "2027-03-25"]}


def test_dates_api_refuses_an_end_before_the_start_by_name(sides, kor):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.ACCEPTED, recipient, provider, need, offer)
    url = reverse("matching-api:engagement-dates", args=[engagement.pk])
    bad = provider.client.put(url, {"start_date": "2027-03-10", "end_date": "2027-03-01"}, format="json")
    assert bad.status_code == 400
    assert [e["attr"] for e in bad.json()["errors"]] == ["end_date"]
    assert kor.client.put(url, {"start_date": None, "end_date": None}, format="json").status_code == 404
    good = recipient.client.put(
        url,
        {
            "start_date": "2027-03-01",
            "end_date": "2027-03-10",
            "missions": [{"date": "2027-03-05", "label": "Workshop"}],
        },
        format="json",
    )
    assert good.status_code == 200, good.content
    assert good.json()["start_date"] == "2027-03-01"
    assert good.json()["missions"] == [{"date": "2027-03-05", "label": "Workshop"}]


def test_timeline_and_history_read_in_words_of_the_readers_language(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.AGREED, recipient, provider, need, offer)
    engagement_dates_set(
        actor=provider.user,
        engagement=engagement,
        start_date=dt.date(2027, 3, 1),
        end_date=dt.date(2027, 3, 20),
        missions=[{"date": dt.date(2027, 3, 9), "label": "Visite d'étude"}],
    )
    engagement.refresh_from_db()
    with translation.override("fr"):
        steps = engagement_timeline(engagement=engagement, today=dt.date(2027, 3, 5))
        labels = [s.label for s in steps]
        event = engagement.events.get(action="interest")
        assert engagement_event_label(event.action) == "Le bénéficiaire est intéressé"
        dates = engagement.events.get(action="dates")
        assert ("Date de début", "—", "2027-03-01") in engagement_event_changes(dates)
    assert labels[:3] == ["Le bénéficiaire est intéressé", "Acceptée par le prestataire", "Accord confirmé"]
    assert labels[3:] == ["Début convenu", "Visite d'étude", "Fin convenue"]
    assert [s.date for s in steps[3:]] == [dt.date(2027, 3, 1), dt.date(2027, 3, 9), dt.date(2027, 3, 20)]
    assert [s.planned for s in steps[3:]] == [False, True, True]


# --- after completion: ratings and outcome ---------------------------------------------------


def test_a_side_that_rated_cannot_rate_again_and_its_form_goes(sides, civ_colleague):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.COMPLETED, recipient, provider, need, offer)
    assert engagement_can_rate(recipient.user, engagement)
    engagement_rate(actor=recipient.user, engagement=engagement, score=5)
    engagement.refresh_from_db()
    assert not engagement_can_rate(recipient.user, engagement)
    assert not engagement_can_rate(civ_colleague.user, engagement), "the whole side has rated"
    assert engagement_can_rate(provider.user, engagement)


def test_outcome_is_recorded_after_completion_by_either_side(sides, kor):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.IN_PROGRESS, recipient, provider, need, offer)
    with pytest.raises(ValidationError) as early:
        engagement_outcome_record(actor=recipient.user, engagement=engagement, result="delivered")
    assert "result" in early.value.message_dict
    engagement = engagement_transition(actor=provider.user, engagement=engagement, action="complete")
    with pytest.raises(ValidationError) as bad:
        engagement_outcome_record(actor=recipient.user, engagement=engagement, result="great")
    assert "result" in bad.value.message_dict
    with pytest.raises(PermissionDenied):
        engagement_outcome_record(actor=kor.user, engagement=engagement, result="delivered")
    engagement_outcome_record(
        actor=recipient.user, engagement=engagement, result="partly_delivered", note="Two of three trainings."
    )
    url = reverse("matching-api:engagement-outcome", args=[engagement.pk])
    assert kor.client.post(url, {"result": "delivered"}, format="json").status_code == 404
    response = provider.client.post(url, {"result": "delivered", "note": "All three, the last in May."}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["outcome_result"] == "delivered"
    event = engagement.events.filter(action="outcome").order_by("-id").first()
    with translation.override("en"):
        assert ("Result", "Partly delivered", "Delivered") in engagement_event_changes(event)


def test_a_moderators_message_tells_both_sides(sides, moderator, django_capture_on_commit_callbacks):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.PROPOSED, recipient, provider, need, offer)
    with django_capture_on_commit_callbacks(execute=True):
        engagement_message_post(author=moderator.user, engagement=engagement, body="The secretariat can fund travel.")
    told = set(Notification.objects.filter(kind="engagement_message").values_list("user_id", flat=True))
    assert told == {recipient.user.pk, provider.user.pk}
    assert EngagementMessage.objects.get().side == MessageSide.MODERATOR


def test_a_digest_the_mail_server_refused_is_sent_on_the_next_run_in_the_readers_language(
    sides, settings, django_capture_on_commit_callbacks
):
    from tests.outages import refused_port

    recipient, provider, need, offer = sides
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    provider.user.notification_email = NotificationEmail.DAILY
    provider.user.preferred_language = "fr"
    provider.user.save(update_fields=["notification_email", "preferred_language"])
    Notification.objects.all().delete()
    mail.outbox.clear()
    _notify_provider(recipient, engagement, "Avez-vous des dates ?", django_capture_on_commit_callbacks)
    backend = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", refused_port(), 1
    assert notification_digests_send() == {"users": 0, "notifications": 0, "failed": 1}
    assert Notification.objects.filter(user=provider.user, emailed_at__isnull=True).count() == 1
    settings.EMAIL_BACKEND = backend
    assert notification_digests_send() == {"users": 1, "notifications": 1, "failed": 0}
    [digest] = mail.outbox
    assert digest.subject == "TA Exchange : vos notifications du jour (1)"
    assert "Nouveau message dans la collaboration" in digest.body
    assert "Avez-vous des dates ?" in digest.body
