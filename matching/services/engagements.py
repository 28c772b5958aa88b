"""Engagements: from a proposal to completed assistance, one explicit state machine.

    proposed ──interest──> interested ──accept──> accepted ──agree──> agreed ──start──> in progress ──complete──> completed
        │                     │   └──decline (reason)──> declined                                  (both sides rate 1–5)
        └──dismiss──> dismissed                 any of accepted/agreed/in progress ──cancel (reason)──> cancelled

The provider sees a proposal from the moment it is made and may answer first: ``proposed
──accept ("I can help")──> accepted`` or ``proposed ──decline (reason)──> declined``. A provider can
also offer help on any published need (``engagement_offer_help``), which opens the engagement in
``offered`` (it holds one unit of the offer's capacity): ``offered ──agree──> agreed`` (the
recipient takes it up), ``offered ──dismiss──> dismissed`` (the recipient declines), ``offered
──cancel (reason)──> cancelled`` (the provider withdraws).

Who: the recipient's focal points (of the need) express interest, dismiss, and confirm the
agreement; the provider's focal points (of the offer) accept or decline; either side starts,
completes or cancels. Moderators can do what either side can; matching itself (the ``SYSTEM``
role) supersedes a proposal nobody has committed to when its entry leaves publication, the pair
falls below the cut-off or the offer's capacity is gone (``matching.services.proposals``). ``TRANSITIONS`` is the whole truth, applied with
the mechanics of ``core.state_machine``.
Accepting needs capacity left this year (capacity minus engagements accepted this year).
The plan's proposals are created by ``matching.services.proposals.proposals_sync``; a recipient can also express interest in
any listed candidate, which opens an engagement directly in ``interested``.
"""

from __future__ import annotations

import enum

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import DomainError
from core.state_machine import NOBODY, Role, StateMachine, Transition
from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer
from kb.selectors import need_can_manage, offer_can_manage, user_scope
from matching.models import (
    CLOSED_STATES,
    Engagement,
    EngagementEvent,
    EngagementRating,
    EngagementState,
    MatchCandidate,
    RatingSide,
)
from matching.selectors import offer_capacity_left
from matching.services.notifications import notify_engagement


class EngagementAction(enum.StrEnum):
    """What the two sides do (moderators can do what either side can)."""

    INTEREST = "interest"
    DISMISS = "dismiss"
    ACCEPT = "accept"
    DECLINE = "decline"
    AGREE = "agree"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"


class EngagementSystemAction(enum.StrEnum):
    """What matching does: a proposal nobody committed to is superseded (the reason is recorded)."""

    SUPERSEDE = "supersede"


ACTION_LABELS: dict[EngagementAction | EngagementSystemAction, Promise | str] = {
    EngagementAction.INTEREST: gettext_lazy("I am interested"),
    EngagementAction.DISMISS: gettext_lazy("Dismiss"),
    EngagementAction.ACCEPT: gettext_lazy("Accept"),
    EngagementAction.DECLINE: gettext_lazy("Decline"),
    EngagementAction.AGREE: gettext_lazy("Confirm the agreement"),
    EngagementAction.START: gettext_lazy("Start"),
    EngagementAction.COMPLETE: gettext_lazy("Mark as completed"),
    EngagementAction.CANCEL: gettext_lazy("Cancel the engagement"),
}

E, A, T = EngagementState, EngagementAction, Transition
EITHER = Role.RECIPIENT | Role.PROVIDER
TRANSITIONS: dict[tuple[EngagementAction | EngagementSystemAction, EngagementState], Transition[EngagementState]] = {
    (A.INTEREST, E.PROPOSED): T(E.INTERESTED, Role.RECIPIENT),
    (A.DISMISS, E.PROPOSED): T(E.DISMISSED, Role.RECIPIENT),
    (A.DISMISS, E.INTERESTED): T(E.DISMISSED, Role.RECIPIENT),
    # "I can help": the provider answers a proposal before the recipient has reacted.
    (A.ACCEPT, E.PROPOSED): T(E.ACCEPTED, Role.PROVIDER),
    (A.DECLINE, E.PROPOSED): T(E.DECLINED, Role.PROVIDER, reason_required=True),
    (A.ACCEPT, E.INTERESTED): T(E.ACCEPTED, Role.PROVIDER),
    # Help the provider offered on a need (``engagement_offer_help``): the recipient takes it up
    # (the provider has committed already) or declines it; the provider can withdraw it.
    (A.AGREE, E.OFFERED): T(E.AGREED, Role.RECIPIENT),
    (A.DISMISS, E.OFFERED): T(E.DISMISSED, Role.RECIPIENT),
    (A.CANCEL, E.OFFERED): T(E.CANCELLED, Role.PROVIDER, reason_required=True),
    (A.DECLINE, E.INTERESTED): T(E.DECLINED, Role.PROVIDER, reason_required=True),
    (A.AGREE, E.ACCEPTED): T(E.AGREED, Role.RECIPIENT),
    (A.START, E.AGREED): T(E.IN_PROGRESS, EITHER),
    (A.COMPLETE, E.IN_PROGRESS): T(E.COMPLETED, EITHER),
    (A.CANCEL, E.ACCEPTED): T(E.CANCELLED, EITHER, reason_required=True),
    (A.CANCEL, E.AGREED): T(E.CANCELLED, EITHER, reason_required=True),
    (A.CANCEL, E.IN_PROGRESS): T(E.CANCELLED, EITHER, reason_required=True),
    (EngagementSystemAction.SUPERSEDE, E.PROPOSED): T(E.SUPERSEDED, Role.SYSTEM),
    (EngagementSystemAction.SUPERSEDE, E.INTERESTED): T(E.SUPERSEDED, Role.SYSTEM),
}

EngagementMachine = StateMachine[
    EngagementAction | EngagementSystemAction, EngagementState, Transition[EngagementState]
]
ENGAGEMENTS: EngagementMachine = StateMachine(
    TRANSITIONS,
    action_labels=ACTION_LABELS,
    illegal_message=gettext_lazy(
        "“%(action)s” is not possible for an engagement that is “%(state)s”; it is possible from: %(allowed)s."
    ),
)


PAUSED_MESSAGE = gettext_lazy(
    "This engagement is paused: the need or the offer is no longer published. It can go on once both are "
    "published again."
)


class EngagementPaused(DomainError):
    """The need or the offer is not published (taken down, archived): the engagement waits."""

    code = "entry_not_published"

    def __init__(self) -> None:
        super().__init__(str(PAUSED_MESSAGE))


def engagement_is_paused(engagement: Engagement) -> bool:
    return not _both_published(engagement)


def _both_published(engagement: Engagement) -> bool:
    return engagement.need.status == EntryStatus.PUBLISHED and engagement.offer.status == EntryStatus.PUBLISHED


def sides_of(user: User, engagement: Engagement) -> Role:
    """The sides ``user`` acts for in ``engagement`` (moderators: both)."""
    side = NOBODY
    if need_can_manage(user=user, need=engagement.need):
        side |= Role.RECIPIENT
    if offer_can_manage(user=user, offer=engagement.offer):
        side |= Role.PROVIDER
    if user_scope(user).is_moderator:
        side |= EITHER
    return side


def allowed_engagement_actions(user: User, engagement: Engagement) -> list[str]:
    if not _both_published(engagement):
        return []
    actions = ENGAGEMENTS.allowed_actions(EngagementState(engagement.state), sides_of(user, engagement))
    return [action.value for action in actions]


def _record(engagement: Engagement, action: str, before: str, actor: User | None, reason: str = "") -> None:
    EngagementEvent.objects.create(
        engagement=engagement, action=action, from_state=before, to_state=engagement.state, actor=actor, reason=reason
    )


def engagement_transition(*, actor: User, engagement: Engagement, action: str, reason: str = "") -> Engagement:
    action = EngagementAction(action)
    with transaction.atomic(durable=True):
        locked = Engagement.objects.select_for_update().select_related("need", "offer").get(pk=engagement.pk)
        move = ENGAGEMENTS.transition(action, EngagementState(locked.state))
        if not _both_published(locked):
            raise EngagementPaused()
        if not (move.by & sides_of(actor, locked)):
            who = {Role.RECIPIENT: _("the recipient"), Role.PROVIDER: _("the provider")}.get(move.by, _("either side"))
            raise PermissionDenied(
                _("Only %(who)s can do this: “%(action)s”.") % {"who": who, "action": ACTION_LABELS[action]}
            )
        reason = ENGAGEMENTS.reason(move, action, reason)
        if action == A.ACCEPT:
            ExpertiseOffer.objects.select_for_update().get(pk=locked.offer_id)  # serialise capacity checks
            if offer_capacity_left(locked.offer) <= 0:
                raise ValidationError(
                    {
                        "capacity": _("This offer has no capacity left this year (%(n)d engagements).")
                        % {"n": locked.offer.capacity}
                    }
                )
            locked.accepted_at = timezone.now()
        if action == A.COMPLETE:
            locked.completed_at = timezone.now()
        before = locked.state
        locked.state = move.to
        if reason:
            locked.last_reason = reason
        locked.save()
        _record(locked, action.value, before, actor, reason)
        # The provider answering a proposal first is an offer of help the recipient hears about.
        told = "can_help" if action == A.ACCEPT and before == EngagementState.PROPOSED else action.value
        notify_engagement(engagement=locked, action=told, actor=actor)
    return locked


def engagement_express_interest(*, actor: User, need: AssistanceNeed, offer: ExpertiseOffer) -> Engagement:
    """The recipient takes up a candidate: the open engagement moves to (or starts in) interested."""
    if not need_can_manage(user=actor, need=need) and not user_scope(actor).is_moderator:
        raise PermissionDenied(_("Only the need's focal points can express interest."))
    if need.status != EntryStatus.PUBLISHED or offer.status != EntryStatus.PUBLISHED:
        raise ValidationError({"offer": _("Both the need and the offer must be published.")})
    if need.country_id == offer.organisation.country_id:
        raise ValidationError({"offer": _("A State cannot engage with itself.")})
    existing = Engagement.objects.filter(need=need, offer=offer).exclude(state__in=CLOSED_STATES).first()
    if existing is not None:
        if existing.state == EngagementState.PROPOSED:
            return engagement_transition(actor=actor, engagement=existing, action=A.INTEREST)
        return existing
    with transaction.atomic(durable=True):
        candidate = MatchCandidate.objects.current().filter(need=need, offer=offer).first()
        engagement = Engagement.objects.create(
            need=need,
            offer=offer,
            state=EngagementState.INTERESTED,
            candidate=candidate,
            score=candidate.score if candidate else None,
            south_south=candidate.south_south if candidate else False,
            need_title=need.title,
            offer_title=offer.title,
        )
        _record(engagement, A.INTEREST.value, "", actor)
        notify_engagement(engagement=engagement, action=A.INTEREST.value, actor=actor)
    return engagement


def rating_side_of(user: User, engagement: Engagement) -> RatingSide | None:
    """The side ``user`` rates for (the recipient's first when they act for both), or None."""
    if need_can_manage(user=user, need=engagement.need):
        return RatingSide.RECIPIENT
    if offer_can_manage(user=user, offer=engagement.offer):
        return RatingSide.PROVIDER
    return None


def engagement_can_rate(user: User, engagement: Engagement) -> bool:
    """Whether ``user`` may still rate: completed, one of its two sides, and that side has not
    rated yet (the rating form then disappears for the whole side)."""
    side = rating_side_of(user, engagement)
    if engagement.state != EngagementState.COMPLETED or side is None:
        return False
    return not any(r.side == side for r in engagement.ratings.all())


def engagement_rate(*, actor: User, engagement: Engagement, score: int, comment: str = "") -> EngagementRating:
    """After completion, each side rates the other once, 1 to 5."""
    if engagement.state != EngagementState.COMPLETED:
        raise ValidationError({"score": _("Only completed engagements can be rated.")})
    side = rating_side_of(actor, engagement)
    if side is None:
        raise PermissionDenied(_("Only the two sides of the engagement can rate it."))
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": _("Give a rating from 1 to 5.")})
    with transaction.atomic(durable=True):
        if EngagementRating.objects.filter(engagement=engagement, side=side).exists():
            raise ValidationError({"score": _("This side has already rated the engagement.")})
        rating = EngagementRating.objects.create(
            engagement=engagement, side=side, score=score, comment=comment.strip(), rated_by=actor
        )
    return rating


#: What the provider does when it offers help on a need (an event and a notification, not a
#: transition: the engagement begins in ``offered``).
OFFER_HELP = "offer"


def engagement_offer_help(*, actor: User, need: AssistanceNeed, offer: ExpertiseOffer) -> Engagement:
    """The provider offers help on a published need with one of its own published offers.

    A proposal already made for the pair is answered instead ("I can help"); another open
    engagement of the pair is returned as it is. The help offered holds one unit of the offer's
    capacity this year, until the recipient declines it or the provider withdraws it.
    """
    if not offer_can_manage(user=actor, offer=offer) and not user_scope(actor).is_moderator:
        raise PermissionDenied(_("Only the offer's own focal points can offer help with it."))
    if need.status != EntryStatus.PUBLISHED:
        raise ValidationError({"need": _("Help can only be offered on a published need.")})
    if offer.status != EntryStatus.PUBLISHED:
        raise ValidationError({"offer": _("Choose one of your published offers.")})
    if need.country_id == offer.organisation.country_id:
        raise ValidationError({"offer": _("A State cannot engage with itself.")})
    existing = Engagement.objects.filter(need=need, offer=offer).exclude(state__in=CLOSED_STATES).first()
    if existing is not None:
        if existing.state in (EngagementState.PROPOSED, EngagementState.INTERESTED):
            return engagement_transition(actor=actor, engagement=existing, action=A.ACCEPT)
        return existing
    with transaction.atomic(durable=True):
        ExpertiseOffer.objects.select_for_update().get(pk=offer.pk)  # serialise capacity checks
        if offer_capacity_left(offer) <= 0:
            raise ValidationError(
                {"offer": _("This offer has no capacity left this year (%(n)d engagements).") % {"n": offer.capacity}}
            )
        candidate = MatchCandidate.objects.current().filter(need=need, offer=offer).first()
        engagement = Engagement.objects.create(
            need=need,
            offer=offer,
            state=EngagementState.OFFERED,
            candidate=candidate,
            score=candidate.score if candidate else None,
            south_south=candidate.south_south if candidate else False,
            need_title=need.title,
            offer_title=offer.title,
            accepted_at=timezone.now(),
        )
        _record(engagement, OFFER_HELP, "", actor)
        notify_engagement(engagement=engagement, action=OFFER_HELP, actor=actor)
    return engagement
