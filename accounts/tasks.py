"""Celery entry points of accounts: the e-mails people are sent about their access (invitations,
decisions on access requests). Sending is retried for about half an hour of mail-server outage."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

logger = logging.getLogger(__name__)

#: Registered name, used by accounts.services to queue the task without importing this module.
EMAIL_SEND_TASK = "accounts.tasks.email_send_task"

#: Waits between attempts, in seconds: 30 s doubling up to 10 min, about 35 min in all.
EMAIL_RETRY_BASE = 30
EMAIL_RETRY_MAX = 600
EMAIL_MAX_RETRIES = 6

#: What a mail server that is down or refusing looks like (socket errors are OSError).
MAIL_ERRORS = (smtplib.SMTPException, OSError)


@shared_task(bind=True, name=EMAIL_SEND_TASK, acks_late=True, ignore_result=True, max_retries=EMAIL_MAX_RETRIES)
def email_send_task(self, subject: str, body: str, to: list[str]) -> bool:
    """Send one e-mail; a mail-server failure is retried later, logged once per attempt and with
    its traceback only when the last attempt fails. Returns whether it was sent."""

    attempt = self.request.retries + 1
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
    except MAIL_ERRORS as exc:
        last = self.request.is_eager or self.request.retries >= self.max_retries
        if last:
            logger.error("e-mail %r to %s not sent after %d attempt(s); giving up", subject, to, attempt, exc_info=True)
            return False
        wait = min(EMAIL_RETRY_BASE * 2**self.request.retries, EMAIL_RETRY_MAX)
        logger.warning(
            "e-mail %r to %s not sent (attempt %d): %s: %s; retrying in %d s",
            subject,
            to,
            attempt,
            type(exc).__name__,
            exc,
            wait,
        )
        raise self.retry(countdown=wait) from None
    return True
