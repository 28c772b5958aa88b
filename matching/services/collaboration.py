"""Working together on an engagement: its message thread, its agreed dates and missions, and
the outcome recorded after completion.

Invariants:
- Only the engagement's two sides (the need's focal points, the offer's) and moderators write
  here (``sides_of``); the API and pages reach an engagement through
  ``matching.selectors.engagement_list_for_user``, so anyone else gets a 404 before these run.
- A message notifies the other side (in the app, and by e-mail as each reader chose); the
  author's own side is not told of its own words.
- Dates and missions can be set once the provider has committed (accepted, agreed, in
  progress); the end is never before the start (also a database constraint). Each change is an
  ``EngagementEvent`` (action ``dates``) with what changed, so the history reads in words, and
  both sides are told (never the one who changed them).
- The outcome (result and note) is recorded after completion by either side, and may be
  corrected; each recording is an event (action ``outcome``).
- What a user may do with an engagement (``engagement_abilities``) is decided here once: the
  page shows exactly those controls and the services above refuse the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.state_machine import NOBODY, Role
from kb.selectors import need_can_manage, offer_can_manage
from matching.models import (
    MAX_MESSAGE_LENGTH,
    MAX_MISSION_LABEL_LENGTH,
    MAX_MISSIONS,
    MAX_OUTCOME_NOTE_LENGTH,
    Engagement,
    EngagementEvent,
    EngagementMessage,
    EngagementMission,
    EngagementState,
    MessageSide,
    OutcomeResult,
)
from matching.services.engagements import (
    EITHER,
    allowed_engagement_actions,
    engagement_can_rate,
    engagement_is_paused,
    sides_of,
)
from matching.services.notifications import notify_engagement, notify_message

#: States in which both sides' focal points set the agreed dates (the provider has committed).
DATES_STATES = (EngagementState.ACCEPTED, EngagementState.AGREED, EngagementState.IN_PROGRESS)

#: Event actions of the edits recorded here (the state machine's own actions are its transitions).
DATES_ACTION = "dates"
OUTCOME_ACTION = "outcome"


@dataclass(frozen=True)
class EngagementAbilities:
    """What a user may do with an engagement now (moderators: what either side may)."""

    actions: list[str]  # the state machine's actions open to the user (none while paused)
    can_rate: bool  # completed, one of its sides, and that side has not rated yet
    can_set_dates: bool  # a side, once the provider has committed and until completion
    can_record_outcome: bool  # a side, once completed
    sees_replacement: bool  # what replaced a superseded proposal (another provider's pair): the recipient's
    paused: bool  # the need or the offer is no longer published
    can_attach: bool  # add and remove the engagement's documents: its sides' focal points and moderators


def engagement_abilities(*, user: User, engagement: Engagement) -> EngagementAbilities:
    sides = sides_of(user, engagement)
    return EngagementAbilities(
        actions=allowed_engagement_actions(user, engagement),
        can_rate=engagement_can_rate(user, engagement),
        can_set_dates=engagement.state in DATES_STATES and bool(sides & EITHER),
        can_record_outcome=engagement.state == EngagementState.COMPLETED and bool(sides & EITHER),
        sees_replacement=bool(engagement.replaced_by_id and sides & Role.RECIPIENT),
        paused=engagement_is_paused(engagement),
        can_attach=bool(sides),
    )


def _require_side(user: User, engagement: Engagement, message: str) -> Role:
    side = sides_of(user, engagement)
    if side == NOBODY:
        raise PermissionDenied(message)
    return side


def message_side(user: User, engagement: Engagement) -> MessageSide:
    """The side a message is signed with: the author's own side, the secretariat otherwise."""
    if need_can_manage(user=user, need=engagement.need):
        return MessageSide.RECIPIENT
    if offer_can_manage(user=user, offer=engagement.offer):
        return MessageSide.PROVIDER
    return MessageSide.MODERATOR


def engagement_message_post(*, author: User, engagement: Engagement, body: str) -> EngagementMessage:
    """Add a message to the engagement's thread and tell the other side."""
    _require_side(author, engagement, _("Only the two sides of the engagement and moderators can write here."))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Message: write something before sending.")})
    if len(body) > MAX_MESSAGE_LENGTH:
        raise ValidationError(
            {
                "body": _("Message: at most %(max)d characters (this one has %(n)d).")
                % {"max": MAX_MESSAGE_LENGTH, "n": len(body)}
            }
        )
    with transaction.atomic(durable=True):
        message = EngagementMessage(
            engagement=engagement, author=author, side=message_side(author, engagement), body=body
        )
        message.full_clean()
        message.save()
        Engagement.objects.filter(pk=engagement.pk).update(updated_at=timezone.now())
        notify_message(message=message)
    return message


def _iso(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _clean_missions(missions: Iterable[Mapping]) -> list[tuple[dt.date, str]]:
    cleaned: list[tuple[dt.date, str]] = []
    for number, mission in enumerate(missions, start=1):
        date, label = mission.get("date"), (mission.get("label") or "").strip()
        if not isinstance(date, dt.date):
            raise ValidationError({"missions": _("Mission %(n)d: give its date.") % {"n": number}})
        if not label:
            raise ValidationError({"missions": _("Mission %(n)d: give it a short label.") % {"n": number}})
        if len(label) > MAX_MISSION_LABEL_LENGTH:
            raise ValidationError(
                {
                    "missions": _("Mission %(n)d: the label has at most %(max)d characters.")
                    % {"n": number, "max": MAX_MISSION_LABEL_LENGTH}
                }
            )
        cleaned.append((date, label))
    if len(cleaned) > MAX_MISSIONS:
        raise ValidationError({"missions": _("At most %(max)d missions.") % {"max": MAX_MISSIONS}})
    return sorted(cleaned)


def engagement_dates_set(
    *,
    actor: User,
    engagement: Engagement,
    start_date: dt.date | None,
    end_date: dt.date | None,
    missions: Iterable[Mapping] = (),
) -> Engagement:
    """Set the agreed start, end and missions (replacing the missions listed before)."""
    _require_side(actor, engagement, _("Only the two sides of the engagement can set its dates."))
    if engagement.state not in DATES_STATES:
        raise ValidationError(
            {"start_date": _("Dates can be agreed once the provider has accepted, until the engagement is completed.")}
        )
    if start_date and end_date and end_date < start_date:
        raise ValidationError({"end_date": _("End date: it is before the start date.")})
    cleaned = _clean_missions(missions)
    with transaction.atomic(durable=True):
        locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
        if locked.state not in DATES_STATES:
            raise ValidationError({"start_date": _("The engagement changed meanwhile; reload the page.")})
        before_missions = [f"{m.date.isoformat()} {m.label}" for m in locked.missions.all()]
        after_missions = [f"{date.isoformat()} {label}" for date, label in cleaned]
        changes: dict[str, list] = {}
        if locked.start_date != start_date:
            changes["start_date"] = [_iso(locked.start_date), _iso(start_date)]
        if locked.end_date != end_date:
            changes["end_date"] = [_iso(locked.end_date), _iso(end_date)]
        if before_missions != after_missions:
            changes["missions"] = [before_missions, after_missions]
        if not changes:
            return locked
        locked.start_date, locked.end_date = start_date, end_date
        locked.full_clean(exclude=["need", "offer", "candidate", "replaced_by"])
        locked.save()
        if "missions" in changes:
            locked.missions.all().delete()
            EngagementMission.objects.bulk_create(
                [EngagementMission(engagement=locked, date=date, label=label) for date, label in cleaned]
            )
        EngagementEvent.objects.create(
            engagement=locked,
            action=DATES_ACTION,
            from_state=locked.state,
            to_state=locked.state,
            actor=actor,
            changes=changes,
        )
        notify_engagement(engagement=locked, action=DATES_ACTION, actor=actor)
    return locked


def engagement_outcome_record(*, actor: User, engagement: Engagement, result: str, note: str = "") -> Engagement:
    """After completion, either side records what was delivered (and may correct it later)."""
    _require_side(actor, engagement, _("Only the two sides of the engagement can record its outcome."))
    if engagement.state != EngagementState.COMPLETED:
        raise ValidationError({"result": _("Result: the outcome is recorded once the engagement is completed.")})
    if result not in OutcomeResult.values:
        raise ValidationError(
            {"result": _("Result: choose one of %(choices)s.") % {"choices": ", ".join(map(str, OutcomeResult.labels))}}
        )
    note = (note or "").strip()
    if len(note) > MAX_OUTCOME_NOTE_LENGTH:
        raise ValidationError(
            {"note": _("What was delivered: at most %(max)d characters.") % {"max": MAX_OUTCOME_NOTE_LENGTH}}
        )
    with transaction.atomic(durable=True):
        locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
        changes = {}
        if locked.outcome_result != result:
            changes["outcome_result"] = [locked.outcome_result, result]
        if locked.outcome_note != note:
            changes["outcome_note"] = [locked.outcome_note, note]
        if not changes:
            return locked
        locked.outcome_result, locked.outcome_note = result, note
        locked.outcome_recorded_at = timezone.now()
        locked.save()
        EngagementEvent.objects.create(
            engagement=locked,
            action=OUTCOME_ACTION,
            from_state=locked.state,
            to_state=locked.state,
            actor=actor,
            changes=changes,
        )
    return locked
