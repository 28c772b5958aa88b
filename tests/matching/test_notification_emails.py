"""Notification e-mails survive a broker or mail-server outage: unsent ones are drained later, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from matching.models import Engagement, Notification
from matching.models import EngagementState as E
from matching.services.engagements import engagement_transition
from matching.services.notifications import notification_emails_drain, notification_emails_send
from tests.matching.test_services_engagements import sides  # noqa: F401 - a fixture
from tests.outages import real_broker, refused_port, refused_redis_url

pytestmark = pytest.mark.django_db


def _age(notification: Notification, seconds: int) -> None:
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def _interest_with_the_broker_down(recipient, need, offer, capture):
    engagement = Engagement.objects.create(
        need=need, offer=offer, need_title=need.title, offer_title=offer.title, state=E.PROPOSED
    )
    with real_broker(refused_redis_url()), capture(execute=True):
        engagement_transition(actor=recipient.user, engagement=engagement, action="interest")


def test_an_email_the_broker_could_not_queue_is_sent_by_the_drain_once(sides, django_capture_on_commit_callbacks):  # noqa: F811
    recipient, provider, need, offer = sides
    _interest_with_the_broker_down(recipient, need, offer, django_capture_on_commit_callbacks)
    notification = Notification.objects.get(user=provider.user)
    assert notification.emailed_at is None
    assert mail.outbox == []
    assert notification_emails_drain() == {"sent": 0, "pending": 0}, "the after-commit task's turn first"
    _age(notification, 120)
    assert notification_emails_drain() == {"sent": 1, "pending": 0}
    assert [m.to for m in mail.outbox] == [[provider.user.email]]
    assert offer.title in mail.outbox[0].subject
    assert notification_emails_drain() == {"sent": 0, "pending": 0}
    assert notification_emails_send([notification.pk]) == 0, "a late copy of the task sends nothing"
    assert len(mail.outbox) == 1


def test_a_mail_server_outage_delays_the_email_and_never_loses_it(sides, settings):  # noqa: F811
    recipient, provider, need, offer = sides
    notification = Notification.objects.create(
        user=provider.user, kind="engagement_interest", params={"offer": offer.title, "need": need.title}
    )
    _age(notification, 120)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", refused_port(), 1
    assert notification_emails_drain() == {"sent": 0, "pending": 1}
    notification.refresh_from_db()
    assert notification.emailed_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_emails_drain() == {"sent": 1, "pending": 0}
    assert len(mail.outbox) == 1


def test_the_drain_skips_people_it_cannot_write_to_and_gives_up_after_the_budget(sides):  # noqa: F811
    recipient, provider, need, offer = sides
    params = {"offer": offer.title, "need": need.title}
    inactive = Notification.objects.create(user=recipient.user, kind="engagement_accept", params=params)
    recipient.user.is_active = False
    recipient.user.save()
    too_old = Notification.objects.create(user=provider.user, kind="engagement_interest", params=params)
    _age(inactive, 120)
    _age(too_old, settings.NOTIFICATION_EMAIL_RETRY_HOURS * 3600 + 60)
    assert notification_emails_drain() == {"sent": 0, "pending": 0}
    assert mail.outbox == []


def test_beat_drains_notification_emails_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["notification-emails-drain"]
    assert entry["task"] == "matching.tasks.notification_emails_drain_task"
    assert entry["schedule"] == 60
