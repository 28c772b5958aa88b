"""The engagement page as both sides work together: the thread (another State: 404), agreed dates
and the timeline, the history in words, the rating form gone once a side has rated, the outcome
counted on the dashboard, and the notification e-mail choice on the account page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from matching.models import MAX_MESSAGE_LENGTH, EngagementMessage, EngagementState
from matching.services.collaboration import engagement_dates_set, engagement_message_post
from matching.services.engagements import engagement_rate, engagement_transition
from tests.conftest import published_sides
from tests.matching.test_services_engagements import bring_to

pytestmark = pytest.mark.django_db

E = EngagementState


@pytest.fixture
def sides(civ, db):
    """A published need of Côte d'Ivoire (civ's organisation) and a published Rwandan offer."""
    return published_sides(civ, capacity=2)


def browser(actor, language: str = "en") -> Client:
    client = Client()
    client.force_login(actor.user)
    client.cookies["django_language"] = language
    return client


def page(client: Client, engagement) -> str:
    response = client.get(reverse("web:engagement", args=[engagement.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_both_sides_talk_on_the_page_and_the_other_side_is_emailed(sides, settings, django_capture_on_commit_callbacks):
    recipient, provider, need, offer = sides
    settings.SITE_URL = "https://ta.example.org"
    engagement = bring_to(E.PROPOSED, recipient, provider, need, offer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(provider).post(
            reverse("web:engagement-message", args=[engagement.pk]), {"body": "We can come in March."}
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[recipient.user.email]]
    assert f"https://ta.example.org/engagements/{engagement.pk}/" in mail.outbox[0].body
    html = page(browser(recipient, "fr"), engagement)
    assert "We can come in March." in html
    assert re.search(r'<p dir="auto" class="message-body">We can come in March\.</p>', html)
    assert reverse("web:engagement-message", args=[engagement.pk]) in html


def test_another_states_focal_point_gets_404_on_the_page_and_the_thread(sides, kor):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.ACCEPTED, recipient, provider, need, offer)
    engagement_message_post(author=recipient.user, engagement=engagement, body="Only for the two of us")
    stranger = browser(kor)
    assert stranger.get(reverse("web:engagement", args=[engagement.pk])).status_code == 404
    assert stranger.post(reverse("web:engagement-message", args=[engagement.pk]), {"body": "hi"}).status_code == 404
    dates = {"start_date": "2027-01-01", "end_date": "", "missions-TOTAL_FORMS": "0", "missions-INITIAL_FORMS": "0"}
    assert stranger.post(reverse("web:engagement-dates", args=[engagement.pk]), dates).status_code == 404
    assert EngagementMessage.objects.count() == 1


def test_a_message_too_long_is_refused_on_the_page_naming_the_field(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.PROPOSED, recipient, provider, need, offer)
    response = browser(provider).post(
        reverse("web:engagement-message", args=[engagement.pk]), {"body": "x" * (MAX_MESSAGE_LENGTH + 1)}
    )
    assert response.status_code == 400
    assert f"Message: at most {MAX_MESSAGE_LENGTH} characters" in response.content.decode()
    assert EngagementMessage.objects.count() == 0


def _dates_post(start: str, end: str, missions=()) -> dict:
    data = {
        "start_date": start,
        "end_date": end,
        "missions-TOTAL_FORMS": str(len(missions) + 1),
        "missions-INITIAL_FORMS": "0",
        "missions-MIN_NUM_FORMS": "0",
        "missions-MAX_NUM_FORMS": "30",
    }
    for i, (date, label) in enumerate([*missions, ("", "")]):
        data[f"missions-{i}-date"] = date
        data[f"missions-{i}-label"] = label
    return data


def test_dates_on_the_page_end_before_start_is_an_error_naming_the_field(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.ACCEPTED, recipient, provider, need, offer)
    url = reverse("web:engagement-dates", args=[engagement.pk])
    bad = browser(recipient).post(url, _dates_post("2027-03-10", "2027-03-01"))
    assert bad.status_code == 400
    assert "End date: it is before the start date." in bad.content.decode()
    good = browser(recipient).post(url, _dates_post("2027-03-01", "2027-03-10", [("2027-03-04", "دورة تدريبية")]))
    assert good.status_code == 302
    engagement.refresh_from_db()
    assert engagement.end_date == dt.date(2027, 3, 10)
    html = page(browser(provider, "ar"), engagement)
    # The timeline gives ISO dates, left to right, and isolates the mission's label.
    assert '<time dir="ltr" datetime="2027-03-04">2027-03-04</time> <bdi>دورة تدريبية</bdi>' in html
    assert "2027-03-10" in html


def test_history_reads_in_words_not_codes(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.AGREED, recipient, provider, need, offer)
    engagement_dates_set(
        actor=provider.user, engagement=engagement, start_date=dt.date(2027, 5, 2), end_date=dt.date(2027, 5, 9)
    )
    html = page(browser(recipient), engagement)
    history = html[html.index('<ul class="history">') :]
    assert "The recipient is interested: Proposed" in history
    assert "Agreement confirmed" in history
    assert 'Start date: <bdi dir="auto">—</bdi>' in history
    assert "2027-05-02" in history
    assert "interest:" not in history
    assert "start_date" not in history
    french = page(browser(recipient, "fr"), engagement)
    assert "Le bénéficiaire est intéressé" in french
    assert "Date de début" in french


def test_the_rating_form_disappears_once_the_side_has_rated(sides, civ_colleague):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.COMPLETED, recipient, provider, need, offer)
    assert 'id="rating-form"' in page(browser(recipient), engagement)
    response = browser(recipient).post(
        reverse("web:engagement-act", args=[engagement.pk, "rate"]), {"score": "4", "comment": "Très utile"}
    )
    assert response.status_code == 302
    assert 'id="rating-form"' not in page(browser(recipient), engagement)
    assert 'id="rating-form"' not in page(browser(civ_colleague), engagement), "the whole side has rated"
    assert 'id="rating-form"' in page(browser(provider), engagement)
    engagement_rate(actor=provider.user, engagement=engagement, score=5)
    assert 'id="rating-form"' not in page(browser(provider), engagement)


def test_the_outcome_recorded_on_the_page_is_counted_on_the_dashboard(sides, moderator):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.COMPLETED, recipient, provider, need, offer)
    url = reverse("web:engagement-outcome", args=[engagement.pk])
    bad = browser(provider).post(url, {"result": "great", "note": ""})
    assert bad.status_code == 400
    good = browser(provider).post(url, {"result": "partly_delivered", "note": "Two workshops of three."})
    assert good.status_code == 302
    html = page(browser(recipient), engagement)
    assert "Partly delivered" in html
    assert "Two workshops of three." in html
    dashboard = browser(moderator).get(reverse("web:dashboard")).content.decode()
    assert re.search(r'<tr data-result="partly_delivered"><td>Partly delivered</td><td>1</td></tr>', dashboard)
    assert re.search(r'<tr data-result="delivered"><td>Delivered</td><td>0</td></tr>', dashboard)
    csv = browser(moderator).get(reverse("web:dashboard-csv", args=["deliveries"])).content.decode("utf-8-sig")
    assert "partly_delivered,Partly delivered,1" in csv


def test_dates_and_outcome_forms_appear_only_when_they_apply(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    html = page(browser(provider), engagement)
    assert 'id="dates"' not in html
    assert 'id="outcome"' not in html
    engagement = engagement_transition(actor=provider.user, engagement=engagement, action="accept")
    assert reverse("web:engagement-dates", args=[engagement.pk]) in page(browser(provider), engagement)


def test_the_account_page_sets_how_notifications_are_emailed(sides):
    recipient = sides[0]
    client = browser(recipient)
    html = client.get(reverse("web:account")).content.decode()
    assert 'value="immediate"' in html
    assert 'value="daily"' in html
    response = client.post(reverse("web:account-notification-email"), {"notification_email": "daily"})
    assert response.status_code == 302
    recipient.user.refresh_from_db()
    assert recipient.user.notification_email == "daily"
    bad = client.post(reverse("web:account-notification-email"), {"notification_email": "hourly"})
    assert bad.status_code == 400
    recipient.user.refresh_from_db()
    assert recipient.user.notification_email == "daily"
