"""Access e-mails (invitations, access-request decisions) go through a worker task with retry,
and are sent from the request's process only when the broker cannot take them. Real sockets:
a mail server that refuses is a closed port, a broker that refuses is one too (tests/outages.py)."""

from __future__ import annotations

import logging

import pytest
from celery.exceptions import Retry
from django.core import mail

from accounts.models import Invitation
from accounts.services import invitation_create
from accounts.tasks import EMAIL_MAX_RETRIES, EMAIL_SEND_TASK, email_send_task
from core.tasks import registered
from tests.outages import real_broker, refused_port, refused_redis_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused_mail_server(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = refused_port()
    settings.EMAIL_TIMEOUT = 1


def _invite(moderator, organisation, capture):
    with capture(execute=True):
        return invitation_create(
            actor=moderator.user,
            email="new.person@example.org",
            organisation=organisation,
            provider=True,
            recipient=False,
        )


def test_the_task_is_registered_under_the_name_the_services_use():
    assert registered(EMAIL_SEND_TASK).name == email_send_task.name == EMAIL_SEND_TASK


def test_an_invitation_is_mailed_through_the_task(moderator, civ, django_capture_on_commit_callbacks):
    _invitation, link = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert message.to == ["new.person@example.org"]
    assert link in message.body


def test_a_refused_mail_server_is_retried_with_one_line_per_attempt(refused_mail_server, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.tasks")
    email_send_task.push_request(retries=0, is_eager=False)
    try:
        with pytest.raises(Retry):
            email_send_task.run("Subject", "Body", ["someone@example.org"])
    finally:
        email_send_task.pop_request()
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "(attempt 1)" in record.getMessage()
    assert record.exc_info is None, "no traceback before the last attempt"


def test_the_last_attempt_logs_the_traceback_and_gives_up(refused_mail_server, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.tasks")
    email_send_task.push_request(retries=EMAIL_MAX_RETRIES, is_eager=False)
    try:
        assert email_send_task.run("Subject", "Body", ["someone@example.org"]) is False
    finally:
        email_send_task.pop_request()
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert f"after {EMAIL_MAX_RETRIES + 1} attempt(s)" in record.getMessage()
    assert record.exc_info is not None


def test_a_mail_server_outage_does_not_undo_the_invitation(
    refused_mail_server, moderator, civ, django_capture_on_commit_callbacks
):
    _invite(moderator, civ.organisation, django_capture_on_commit_callbacks)
    assert Invitation.objects.filter(email="new.person@example.org").exists()


def test_with_the_broker_refusing_the_invitation_is_mailed_from_the_request(
    moderator, civ, django_capture_on_commit_callbacks
):
    with real_broker(refused_redis_url()):
        _invitation, link = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert link in message.body
