"""Notifications to the focal points concerned: in the app (``Notification``) and by e-mail.

E-mails are sent after commit by a Celery task, each in the recipient's preferred language, with
the console backend by default and real SMTP when ``EMAIL_URL`` says so. A notification whose
e-mail is not sent yet (``emailed_at`` empty) is its own outbox row: when the broker or the mail
server was down, ``notification_emails_drain`` (beat, every minute) sends it later, for up to
``NOTIFICATION_EMAIL_RETRY_HOURS``. Each e-mail is sent under a lock on its row and marked in the
same transaction, so the immediate task and the drain never send one twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import MODERATORS_GROUP, Membership, NotificationEmail, User
from kb.models import AssistanceNeed, ExpertiseOffer, SavedSearch, SavedSearchAlert
from matching.models import Engagement, EngagementMessage, MessageSide, Notification

logger = logging.getLogger(__name__)

#: What each engagement action tells whom: "recipient" = the need's focal points, "provider" = the
#: offer's, "both".
ACTION_AUDIENCE = {
    "interest": "provider",
    "dismiss": "provider",
    "accept": "recipient",
    "can_help": "recipient",
    "offer": "recipient",
    "decline": "recipient",
    "agree": "provider",
    "start": "both",
    "complete": "both",
    "cancel": "both",
    "dates": "both",
}


def recipient_focal_points(need: AssistanceNeed) -> list[User]:
    if need.organisation_id:
        memberships = Membership.objects.filter(organisation_id=need.organisation_id, is_recipient_focal_point=True)
    else:
        memberships = Membership.objects.filter(organisation__country_id=need.country_id, is_recipient_focal_point=True)
    return [m.user for m in memberships.select_related("user") if m.user.is_active]


def provider_focal_points(offer: ExpertiseOffer) -> list[User]:
    memberships = Membership.objects.filter(organisation_id=offer.organisation_id, is_provider_focal_point=True)
    return [m.user for m in memberships.select_related("user") if m.user.is_active]


def _create(
    users: Iterable[User], kind: str, engagement: Engagement | None, params: dict, exclude: User | None = None
) -> list[Notification]:
    rows = [
        Notification(user=user, kind=kind, engagement=engagement, params=params)
        for user in {u.pk: u for u in users}.values()
        if exclude is None or user.pk != exclude.pk
    ]
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: _queue_emails(ids))
    return created


#: Registered name of the task that e-mails notifications (matching.tasks imports this module).
SEND_EMAILS_TASK = "matching.tasks.send_notification_emails_task"


def _queue_emails(ids: list[int]) -> None:
    from core.tasks import enqueue

    enqueue(SEND_EMAILS_TASK, ids)  # broker down: the drain sends them later


def notify_engagement(*, engagement: Engagement, action: str, actor: User | None) -> list[Notification]:
    audience = ACTION_AUDIENCE.get(action, "both")
    users: list[User] = []
    if audience in ("recipient", "both"):
        users += recipient_focal_points(engagement.need)
    if audience in ("provider", "both"):
        users += provider_focal_points(engagement.offer)
    params = {
        "action": action,
        "need": engagement.need_title,
        "offer": engagement.offer_title,
        "reason": engagement.last_reason,
    }
    return _create(users, f"engagement_{action}", engagement, params, exclude=actor)


#: How much of a message its notification (and e-mail) quotes.
MESSAGE_EXCERPT_LENGTH = 300


def notify_message(*, message: EngagementMessage) -> list[Notification]:
    """A new message in an engagement's thread: the other side's focal points are told (both
    sides when the secretariat writes); never the author."""
    engagement = message.engagement
    users: list[User] = []
    if message.side in (MessageSide.PROVIDER, MessageSide.MODERATOR):
        users += recipient_focal_points(engagement.need)
    if message.side in (MessageSide.RECIPIENT, MessageSide.MODERATOR):
        users += provider_focal_points(engagement.offer)
    excerpt = (
        message.body if len(message.body) <= MESSAGE_EXCERPT_LENGTH else message.body[:MESSAGE_EXCERPT_LENGTH] + "…"
    )
    params = {
        "action": "message",
        "need": engagement.need_title,
        "offer": engagement.offer_title,
        "author": str(message.author) if message.author else "",
        "side": message.side,
        "excerpt": excerpt,
    }
    return _create(users, "engagement_message", engagement, params, exclude=message.author)


def notify_proposals(*, engagements: list[Engagement]) -> int:
    """New proposals from a matching run: one notification per recipient focal point and proposal.

    Done in a few queries whatever the number of proposals (a full run makes thousands).
    """
    engagements = list(Engagement.objects.filter(pk__in=[e.pk for e in engagements]).select_related("need", "offer"))
    org_ids = {e.need.organisation_id for e in engagements if e.need.organisation_id}
    state_ids = {e.need.country_id for e in engagements if not e.need.organisation_id}
    by_org: dict[int, list[int]] = {}
    by_state: dict[int, list[int]] = {}
    memberships = Membership.objects.filter(is_recipient_focal_point=True, user__is_active=True).filter(
        Q(organisation_id__in=org_ids) | Q(organisation__country_id__in=state_ids)
    )
    for user_id, org_id, country_id in memberships.values_list(
        "user_id", "organisation_id", "organisation__country_id"
    ):
        by_org.setdefault(org_id, []).append(user_id)
        by_state.setdefault(country_id, []).append(user_id)
    rows = []
    for engagement in engagements:
        need = engagement.need
        users = by_org.get(need.organisation_id, []) if need.organisation_id else by_state.get(need.country_id, [])
        params = {"action": "propose", "need": engagement.need_title, "offer": engagement.offer_title}
        rows += [
            Notification(user_id=user_id, kind="engagement_propose", engagement=engagement, params=params)
            for user_id in sorted(set(users))
        ]
    created = Notification.objects.bulk_create(rows, batch_size=2000)
    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: _queue_emails(ids))
    return len(created)


def notify_superseded(*, engagements: list[Engagement]) -> int:
    """Proposals matching superseded: both sides are told why, and the recipient what replaced it."""
    rows = []
    for engagement in Engagement.objects.filter(pk__in=[e.pk for e in engagements]).select_related(
        "need", "offer", "replaced_by"
    ):
        params = {
            "action": "supersede",
            "need": engagement.need_title,
            "offer": engagement.offer_title,
            "reason_code": engagement.superseded_reason,
            "replacement": engagement.replaced_by.offer_title if engagement.replaced_by else "",
        }
        users = recipient_focal_points(engagement.need) + provider_focal_points(engagement.offer)
        rows += [
            Notification(user=user, kind="engagement_supersede", engagement=engagement, params=params)
            for user in {u.pk: u for u in users}.values()
        ]
    created = Notification.objects.bulk_create(rows, batch_size=2000)
    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: _queue_emails(ids))
    return len(created)


#: The notification kind of each moderation action (``kb.signals.entry_moderated``).
MODERATION_KINDS = {
    "submit": "entry_submit",
    "publish": "entry_publish",
    "return": "entry_return",
    "unpublish": "entry_unpublish",
}


def moderators() -> list[User]:
    """Active moderators (the Moderators group, and superusers)."""
    return list(
        User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(groups__name=MODERATORS_GROUP)).distinct()
    )


def notify_entry_moderated(
    *, kind: str, entry: ExpertiseOffer | AssistanceNeed, action: str, actor: User | None, reason: str
) -> list[Notification]:
    """A moderation step people hear about, inside the transition's transaction: the moderators
    when an entry (or changes to a published one) is submitted, the entry's own focal points when
    it is published, returned or taken down, with the moderator's reason."""
    if action == "submit":
        users = moderators()
    elif isinstance(entry, ExpertiseOffer):  # ``kind`` is "offer"
        users = provider_focal_points(entry)
    else:
        users = recipient_focal_points(entry)
    params = {"entry_kind": kind, "entry_id": entry.pk, "title": entry.title, "reason": reason}
    return _create(users, MODERATION_KINDS[action], None, params, exclude=actor)


def _saved_search_query(search: SavedSearch) -> str:
    """The Browse page's query string for a saved search (the page the grouped alert links to)."""
    from django.utils.http import urlencode

    params: list[tuple[str, str]] = [("q", search.text)] if search.text else []
    if search.kind:
        params.append(("kind", search.kind))
    params += [(facet, value) for facet, values in sorted(search.filters.items()) for value in values]
    params.append(("sort", "date"))
    return urlencode(params)


def notify_saved_search_matches(*, kind: str, alerts: list[SavedSearchAlert]) -> list[Notification]:
    """The owners of saved searches hear of their new alerts, inside the transaction that records
    them (``kb.search.alerts`` raises an alert once per saved search and entry). One entry: a
    notification about it; several in one batch (an import): one notification for the saved
    search, newest first, so a bulk load is one message, not hundreds."""
    from kb.models import AssistanceNeed, ExpertiseOffer

    model = ExpertiseOffer if kind == "offer" else AssistanceNeed
    titles = dict(model.objects.filter(pk__in={a.entry_id for a in alerts}).values_list("id", "title"))
    by_search: dict[int, list] = {}
    for alert in alerts:
        by_search.setdefault(alert.saved_search_id, []).append(alert)
    rows = []
    for group in by_search.values():
        search = group[0].saved_search
        if len(group) == 1:
            params = {
                "entry_kind": kind,
                "entry_id": group[0].entry_id,
                "title": titles.get(group[0].entry_id, ""),
                "search": search.name,
            }
            rows.append(Notification(user=search.user, kind="saved_search_match", params=params))
        else:
            params = {"search": search.name, "count": len(group), "browse_query": _saved_search_query(search)}
            rows.append(Notification(user=search.user, kind="saved_search_matches", params=params))
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: _queue_emails(ids))
    return created


def notifications_for_user(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("engagement")


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    from django.utils import timezone

    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


# --- rendering -----------------------------------------------------------------------------------


def render_notification(notification: Notification) -> tuple[str, str]:
    """(title, text) of a notification in the active language."""
    from django.utils.translation import gettext as _

    p = notification.params
    titles = {
        "engagement_propose": _("New match proposal for your need “%(need)s”"),
        "engagement_interest": _("A recipient is interested in your offer “%(offer)s”"),
        "engagement_dismiss": _("A recipient dismissed the proposal of your offer “%(offer)s”"),
        "engagement_accept": _("The provider accepted: “%(offer)s” for “%(need)s”"),
        "engagement_can_help": _("A provider can help with your need “%(need)s”: “%(offer)s”"),
        "engagement_offer": _("A provider offers help with your need “%(need)s”: “%(offer)s”"),
        "engagement_decline": _("The provider declined: “%(offer)s” for “%(need)s”"),
        "engagement_agree": _("Engagement agreed: “%(offer)s” for “%(need)s”"),
        "engagement_start": _("Engagement started: “%(offer)s” for “%(need)s”"),
        "engagement_complete": _("Engagement completed: “%(offer)s” for “%(need)s” — please rate it"),
        "engagement_cancel": _("Engagement cancelled: “%(offer)s” for “%(need)s”"),
        "engagement_supersede": _("Proposal superseded: “%(offer)s” for “%(need)s”"),
        "entry_submit": _("Submitted for moderation: “%(title)s”"),
        "entry_publish": _("Your entry “%(title)s” is published"),
        "entry_return": _("Your entry “%(title)s” was returned to you"),
        "entry_unpublish": _("Your entry “%(title)s” was unpublished and returned to you"),
        "engagement_message": _("New message on the engagement “%(offer)s” for “%(need)s”"),
        "engagement_dates": _("Dates changed on the engagement “%(offer)s” for “%(need)s”"),
        "saved_search_match": _("New entry for your saved search “%(search)s”: “%(title)s”"),
        "saved_search_matches": _("New entries for your saved search “%(search)s”: %(count)s"),
    }
    title = titles.get(notification.kind, notification.kind) % {
        "need": p.get("need", ""),
        "offer": p.get("offer", ""),
        "title": p.get("title", ""),
        "search": p.get("search", ""),
        "count": p.get("count", ""),
    }
    text = title
    if p.get("excerpt"):
        text += "\n\n" + _("%(author)s wrote:") % {"author": p.get("author") or "—"}
        text += "\n" + p["excerpt"]
    if p.get("reason"):
        text += "\n\n" + _("Reason given: %(reason)s") % {"reason": p["reason"]}
    if p.get("reason_code"):
        from matching.models import SupersededReason

        text += "\n\n" + str(SupersededReason(p["reason_code"]).label)
        if p.get("replacement"):
            text += "\n" + _("It was replaced by a proposal of “%(offer)s”.") % {"offer": p["replacement"]}
        else:
            text += "\n" + _("Matching found no other provider for the need this time.")
    return title, text


def notification_path(notification: Notification) -> str:
    """The page a notification is about (its engagement, or the entry moderated), or ``""``."""
    if notification.engagement_id:
        return reverse("web:engagement", args=[notification.engagement_id])
    p = notification.params
    if p.get("entry_kind") in ("offer", "need") and p.get("entry_id"):
        return reverse("web:entry", kwargs={"kind": p["entry_kind"], "pk": p["entry_id"]})
    if notification.kind == "saved_search_matches":
        return reverse("web:browse") + "?" + p.get("browse_query", "")
    return ""


def notification_email_text(notification: Notification) -> tuple[str, str]:
    """(subject, body) of a notification's e-mail in the active language, the body ending with a
    link to its page built from ``SITE_URL``."""
    from django.utils.translation import gettext as _

    title, text = render_notification(notification)
    path = notification_path(notification)
    if path:
        text += "\n\n" + _("Open it: %(url)s") % {"url": settings.SITE_URL.rstrip("/") + path}
    return title, text


def notification_emails_send(ids: Iterable[int]) -> int:
    """E-mail these notifications if not done yet; returns how many were sent. A failure of the
    mail server raises (the rest stay pending for the drain)."""
    sent = 0
    for pk in sorted(set(ids)):
        with transaction.atomic():
            pending = Notification.objects.filter(
                pk=pk,
                emailed_at__isnull=True,
                user__is_active=True,
                user__email__gt="",
                user__notification_email=NotificationEmail.IMMEDIATE,  # the others: digest or none
            )
            if connection.features.has_select_for_update_skip_locked:
                pending = pending.select_for_update(skip_locked=True, of=("self",))
            notification = pending.select_related("user").first()
            if notification is None:  # sent already, being sent by another worker, or no address
                continue
            user = notification.user
            with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
                title, text = notification_email_text(notification)
            send_mail(title, text, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
            Notification.objects.filter(pk=pk).update(emailed_at=timezone.now())
            sent += 1
    return sent


def notification_emails_drain(*, grace_seconds: int = 60) -> dict[str, int]:
    """Send e-mails the after-commit task did not (broker or mail server down): notifications
    older than ``grace_seconds`` (the task's turn first) and younger than the retry budget."""
    now = timezone.now()
    budget = now - timedelta(hours=settings.NOTIFICATION_EMAIL_RETRY_HOURS)
    pending = Notification.objects.filter(
        emailed_at__isnull=True,
        user__is_active=True,
        user__email__gt="",
        user__notification_email=NotificationEmail.IMMEDIATE,
        created_at__lt=now - timedelta(seconds=grace_seconds),
        created_at__gte=budget,  # older ones stay in the app only
    )
    ids = list(pending.order_by("created_at").values_list("pk", flat=True)[:500])
    try:
        sent = notification_emails_send(ids)
    except Exception as exc:  # the mail server is down: one line, the rest wait for the next tick
        logger.warning("notification e-mails not sent (%s: %s); %s wait for the next try",
                       type(exc).__name__, exc, len(ids))  # fmt: skip
        return {"sent": 0, "pending": len(ids)}
    return {"sent": sent, "pending": len(ids) - sent}


# --- the daily digest ----------------------------------------------------------------------------


def notification_digest_text(user: User, notifications: list[Notification]) -> tuple[str, str]:
    """(subject, body) of a user's digest in the active language: each notification's title and
    the link to its page, built from ``SITE_URL``."""
    from django.utils.translation import gettext as _

    subject = _("TA Exchange: your notifications of the day (%(n)d)") % {"n": len(notifications)}
    parts = []
    for notification in notifications:
        title, _text = render_notification(notification)
        line = f"- {title}"
        if notification.params.get("excerpt"):
            line += "\n  " + notification.params["excerpt"].replace("\n", "\n  ")
        path = notification_path(notification)
        if path:
            line += "\n  " + settings.SITE_URL.rstrip("/") + path
        parts.append(line)
    body = "\n\n".join(parts)
    body += "\n\n" + _("You receive one e-mail a day; change this on your account page: %(url)s") % {
        "url": settings.SITE_URL.rstrip("/") + reverse("web:account")
    }
    return subject, body


def notification_digest_send(*, user_id: int) -> int:
    """Send one user their digest: every notification of theirs not e-mailed yet from the last
    ``NOTIFICATION_DIGEST_HOURS``. The rows are locked and marked in the same transaction as the
    e-mail is sent, so a second run finds nothing; returns how many notifications it carried."""
    since = timezone.now() - timedelta(hours=settings.NOTIFICATION_DIGEST_HOURS)
    with transaction.atomic():
        user = User.objects.filter(
            pk=user_id, is_active=True, email__gt="", notification_email=NotificationEmail.DAILY
        ).first()
        if user is None:
            return 0
        pending = Notification.objects.filter(user=user, emailed_at__isnull=True, created_at__gte=since)
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        notifications = list(pending.select_related("engagement").order_by("created_at", "id")[:200])
        if not notifications:
            return 0
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            subject, body = notification_digest_text(user, notifications)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
        Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(emailed_at=timezone.now())
    return len(notifications)


def notification_digests_send() -> dict[str, int]:
    """Every "daily" reader with notifications not e-mailed yet gets their digest. A mail-server
    failure for one reader is logged and leaves their notifications for the next run (within the
    window); the others still get theirs."""
    since = timezone.now() - timedelta(hours=settings.NOTIFICATION_DIGEST_HOURS)
    user_ids = (
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__gte=since,
            user__is_active=True,
            user__email__gt="",
            user__notification_email=NotificationEmail.DAILY,
        )
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )
    result = {"users": 0, "notifications": 0, "failed": 0}
    for user_id in list(user_ids):
        try:
            carried = notification_digest_send(user_id=user_id)
        except Exception as exc:  # the mail server refused: this reader waits for the next run
            logger.warning("notification digest for user %s not sent (%s: %s)", user_id, type(exc).__name__, exc)
            result["failed"] += 1
            continue
        if carried:
            result["users"] += 1
            result["notifications"] += carried
    return result
