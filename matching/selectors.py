"""Read-side of matching: candidates, outcomes, runs and engagements, scoped to the caller.

- Candidates of a need: its focal points and moderators (a recipient decides what it needs;
  ``need_candidates_can_view``).
- Engagements: the focal points of either side and moderators; so are their message threads
  (``engagement_messages`` takes an engagement already found through ``engagement_list_for_user``
  and checks again).
- What waits for whom (the inbox): the needs a user answers for as a recipient and the help
  offered on them; every engagement on the offers a user answers for as a provider, proposals
  first; the published offers a provider may offer help with. All built from the caller's
  ``kb.selectors.UserScope`` (``acts_as_recipient`` / ``acts_as_provider``), never by hand.
- Runs: every signed-in user sees their progress and history (no entry content in them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Q, QuerySet, When
from django.utils.translation import gettext as _

from accounts.models import User
from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer
from kb.selectors import need_can_manage, need_list_for_user, offer_list_for_user, user_scope
from matching.features import capacity_used
from matching.models import (
    Engagement,
    EngagementAttachment,
    EngagementEvent,
    EngagementMessage,
    EngagementState,
    MatchCandidate,
    MatchRun,
    NeedOutcome,
    OutcomeResult,
    RunScope,
    RunStatus,
)


def need_candidates_can_view(*, user: User, need: AssistanceNeed) -> bool:
    """Whether ``user`` sees the need's candidates: its focal points and moderators."""
    return user_scope(user).is_moderator or need_can_manage(user=user, need=need)


def need_candidates(*, user: User, need: AssistanceNeed) -> QuerySet[MatchCandidate]:
    """The need's current candidates, ranked; none for whoever may not see them."""
    if not need_candidates_can_view(user=user, need=need):
        return MatchCandidate.objects.none()
    return (
        MatchCandidate.objects.current()
        # A candidate offer taken down since the run is not shown (its title may be a draft now).
        .filter(need=need, offer__status=EntryStatus.PUBLISHED)
        .select_related("offer__organisation__country", "offer__language")
        .order_by("rank")
    )


def need_candidates_for_user(*, user: User, need: AssistanceNeed) -> QuerySet[MatchCandidate]:
    """The need's candidates for its matches page (web) and endpoint (API): refused to anyone but
    its focal points and moderators, who may read the need itself but not what it is matched with."""
    if not need_candidates_can_view(user=user, need=need):
        raise PermissionDenied(_("Only the need's focal points and moderators see its candidates."))
    return need_candidates(user=user, need=need)


def need_outcome(*, need: AssistanceNeed) -> NeedOutcome | None:
    return NeedOutcome.objects.filter(need=need, is_current=True).select_related("run").first()


def engagement_list_for_user(*, user: User) -> QuerySet[Engagement]:
    scope = user_scope(user)
    qs = Engagement.objects.select_related(
        "need__country", "need__organisation", "offer__organisation__country", "candidate"
    ).prefetch_related("ratings", "missions")
    if scope.is_moderator:
        return qs
    return qs.filter(scope.acts_as_recipient() | scope.acts_as_provider())


def engagement_attachments(*, engagement: Engagement) -> QuerySet[EngagementAttachment]:
    return EngagementAttachment.objects.filter(engagement=engagement).select_related("uploaded_by")


def engagement_attachment_get_for_user(
    *, user: User, engagement_id: int, attachment_id: int
) -> EngagementAttachment | None:
    """One attachment, if ``user`` may see its engagement (either side's focal points, moderators);
    ``None`` otherwise, which callers answer with 404."""
    engagement = engagement_list_for_user(user=user).filter(pk=engagement_id).first()
    if engagement is None:
        return None
    attachment = engagement_attachments(engagement=engagement).filter(pk=attachment_id).first()
    if attachment is not None:
        attachment.engagement = engagement
    return attachment


def offer_capacity_left(offer: ExpertiseOffer) -> int:
    """Engagements the offer can still take this year (its capacity minus those accepted)."""
    return max(0, offer.capacity - capacity_used([offer.pk]).get(offer.pk, 0))


# --- what waits for whom (the inbox) -------------------------------------------------------------


def needs_answered_as_recipient(*, user: User) -> QuerySet[AssistanceNeed]:
    """Published needs ``user`` answers for as a recipient focal point (of its organisation, or
    its State's organisation-less needs), newest publication first."""
    scope = user_scope(user)
    return (
        need_list_for_user(user=user)
        .filter(scope.acts_as_recipient(prefix=""), status=EntryStatus.PUBLISHED)
        .order_by("-published_at")
    )


def engagements_of_provider(*, user: User) -> QuerySet[Engagement]:
    """Every engagement on the offers ``user`` answers for as a provider focal point, from the
    moment matching proposes it: proposals (which the provider may answer first) first, then the
    most recently changed."""
    return (
        engagement_list_for_user(user=user)
        .filter(user_scope(user).acts_as_provider())
        .order_by(Case(When(state=EngagementState.PROPOSED, then=0), default=1), "-updated_at", "-id")
    )


def engagements_offered_to_recipient(*, user: User) -> QuerySet[Engagement]:
    """Help providers offered on the needs ``user`` answers for, waiting for the recipient."""
    return engagement_list_for_user(user=user).filter(
        user_scope(user).acts_as_recipient(), state=EngagementState.OFFERED
    )


def engagements_proposed_to_recipient(*, user: User) -> QuerySet[Engagement]:
    """New proposals on the needs ``user`` answers for: the recipient reacts first."""
    return engagement_list_for_user(user=user).filter(
        user_scope(user).acts_as_recipient(), state=EngagementState.PROPOSED
    )


def engagements_waiting_for_answer(*, user: User) -> QuerySet[Engagement]:
    """Engagements waiting for ``user``'s side: the provider's answer to a recipient's interest,
    the recipient's confirmation of a provider's acceptance."""
    scope = user_scope(user)
    return engagement_list_for_user(user=user).filter(
        (scope.acts_as_provider() & Q(state=EngagementState.INTERESTED))
        | (scope.acts_as_recipient() & Q(state=EngagementState.ACCEPTED))
    )


def engagements_by_pair(*, user: User) -> dict[tuple[int, int], Engagement]:
    """The engagements ``user`` sees, by (need id, offer id): what a candidate has become."""
    return {(e.need_id, e.offer_id): e for e in engagement_list_for_user(user=user)}


def offers_of_provider(*, user: User) -> QuerySet[ExpertiseOffer]:
    """Published offers of the organisations ``user`` answers for as a provider focal point."""
    return offer_list_for_user(user=user).filter(
        user_scope(user).acts_as_provider(prefix=""), status=EntryStatus.PUBLISHED
    )


def offers_to_help_with(*, user: User, need: AssistanceNeed) -> QuerySet[ExpertiseOffer]:
    """The offers ``user`` may offer help with on ``need``: its provider organisations' published
    offers, none of the need's own State (a State does not engage with itself), by title. Empty
    unless the need is published."""
    if need.status != EntryStatus.PUBLISHED:
        return ExpertiseOffer.objects.none()
    return (
        ExpertiseOffer.objects.filter(user_scope(user).acts_as_provider(prefix=""), status=EntryStatus.PUBLISHED)
        .exclude(organisation__country_id=need.country_id)
        .order_by("title")
    )


def run_list() -> QuerySet[MatchRun]:
    return MatchRun.objects.select_related("requested_by")


def latest_completed_full_run() -> MatchRun | None:
    return (
        MatchRun.objects.filter(scope=RunScope.FULL, status=RunStatus.COMPLETED).order_by("-finished_at", "-id").first()
    )


def active_full_run() -> MatchRun | None:
    return MatchRun.objects.filter(scope=RunScope.FULL, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


def engagement_messages(*, user: User, engagement: Engagement) -> QuerySet[EngagementMessage]:
    """The engagement's thread, oldest first: its two sides and moderators read it; nobody else."""
    if not engagement_list_for_user(user=user).filter(pk=engagement.pk).exists():
        return EngagementMessage.objects.none()
    return EngagementMessage.objects.filter(engagement=engagement).select_related("author")


@dataclass(frozen=True)
class TimelineStep:
    """One step of an engagement's timeline: a day and what happened (or is planned) on it."""

    date: dt.date
    label: str
    planned: bool = False  # a date agreed for the future, not something that happened


#: The transitions a timeline shows (other events stay in the full history).
_TIMELINE_ACTIONS = ("propose", "offer", "interest", "accept", "agree", "start", "complete", "cancel", "decline",
                     "dismiss", "supersede")  # fmt: skip


def _timeline_labels() -> dict[str, str]:
    return {
        "propose": _("Proposed by matching"),
        "offer": _("Help offered by the provider"),
        "interest": _("The recipient is interested"),
        "accept": _("Accepted by the provider"),
        "agree": _("Agreement confirmed"),
        "start": _("Work started"),
        "complete": _("Completed"),
        "cancel": _("Cancelled"),
        "decline": _("Declined by the provider"),
        "dismiss": _("Dismissed by the recipient"),
        "supersede": str(EngagementState.SUPERSEDED.label),
    }


def engagement_event_label(action: str) -> str:
    """An engagement event's action in words of the active language (its code if unknown)."""
    labels = {**_timeline_labels(), "dates": _("Dates changed"), "outcome": _("Outcome recorded")}
    return labels.get(action, action)


def _change_labels() -> dict[str, str]:
    return {
        "start_date": _("Start date"),
        "end_date": _("End date"),
        "missions": _("Missions"),
        "outcome_result": _("Result"),
        "outcome_note": _("What was delivered"),
    }


def _change_value(field: str, value: Any) -> str:  # a JSON value of EngagementEvent.changes
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if field == "outcome_result" and value in OutcomeResult.values:
        return str(OutcomeResult(value).label)
    return str(value or "")


def engagement_event_changes(event: EngagementEvent) -> list[tuple[str, str, str]]:
    """(field label, before, after) of what an edit changed, in the active language; an empty
    value reads as "—"."""
    labels = _change_labels()
    rows = []
    for field, (before, after) in (event.changes or {}).items():
        rows.append((labels.get(field, field), _change_value(field, before) or "—", _change_value(field, after) or "—"))
    return rows


def engagement_timeline(*, engagement: Engagement, today: dt.date | None = None) -> list[TimelineStep]:
    """The engagement's short timeline in the active language: its steps (proposed, interest,
    accepted, agreed, started, completed…) by day, with the agreed start, missions and end."""
    from django.utils import timezone

    today = today or timezone.localdate()
    labels = _timeline_labels()
    steps: list[tuple[dt.date, int, TimelineStep]] = []
    events = sorted(engagement.events.all(), key=lambda e: (e.created_at, e.pk))
    for order, event in enumerate(events):
        if event.action in _TIMELINE_ACTIONS:
            day = timezone.localdate(event.created_at)
            steps.append((day, order, TimelineStep(day, labels[event.action])))
    if not any(e.action in ("propose", "offer", "interest") for e in events):  # older rows: no first event
        day = timezone.localdate(engagement.created_at)
        steps.insert(0, (day, -1, TimelineStep(day, str(EngagementState(engagement.state).label))))
    planned = len(events)
    if engagement.start_date:
        steps.append((engagement.start_date, planned, TimelineStep(
            engagement.start_date, _("Agreed start"), engagement.start_date > today)))  # fmt: skip
    for mission in engagement.missions.all():
        steps.append((mission.date, planned + 1, TimelineStep(mission.date, mission.label, mission.date > today)))
    if engagement.end_date:
        steps.append((engagement.end_date, planned + 2, TimelineStep(
            engagement.end_date, _("Agreed end"), engagement.end_date > today)))  # fmt: skip
    return [step for _day, _order, step in sorted(steps, key=lambda s: (s[0], s[1]))]
