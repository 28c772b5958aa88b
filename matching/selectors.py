"""Read-side of matching: candidates, outcomes, runs and engagements, scoped to the caller.

- Candidates of a need: its focal points and moderators (a recipient decides what it needs).
- Engagements: the focal points of either side and moderators.
- Runs: every signed-in user sees their progress and history (no entry content in them).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from kb.models import AssistanceNeed, EntryStatus
from kb.selectors import need_can_manage, user_scope
from matching.models import Engagement, EngagementAttachment, MatchCandidate, MatchRun, NeedOutcome, RunScope, RunStatus


def need_candidates(*, user: User, need: AssistanceNeed) -> QuerySet[MatchCandidate]:
    if not (user_scope(user).is_moderator or need_can_manage(user=user, need=need)):
        return MatchCandidate.objects.none()
    return (
        MatchCandidate.objects.current()
        # A candidate offer taken down since the run is not shown (its title may be a draft now).
        .filter(need=need, offer__status=EntryStatus.PUBLISHED)
        .select_related("offer__organisation__country", "offer__language")
        .order_by("rank")
    )


def need_outcome(*, need: AssistanceNeed) -> NeedOutcome | None:
    return NeedOutcome.objects.filter(need=need, is_current=True).select_related("run").first()


def engagement_list_for_user(*, user: User) -> QuerySet[Engagement]:
    scope = user_scope(user)
    qs = Engagement.objects.select_related(
        "need__country", "need__organisation", "offer__organisation__country", "candidate"
    ).prefetch_related("ratings")
    if scope.is_moderator:
        return qs
    as_recipient = Q(need__organisation_id__in=scope.recipient_org_ids) | Q(
        need__organisation__isnull=True, need__country_id__in=scope.recipient_country_ids
    )
    as_provider = Q(offer__organisation_id__in=scope.provider_org_ids)
    return qs.filter(as_recipient | as_provider)


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


def run_list() -> QuerySet[MatchRun]:
    return MatchRun.objects.select_related("requested_by")


def latest_completed_full_run() -> MatchRun | None:
    return (
        MatchRun.objects.filter(scope=RunScope.FULL, status=RunStatus.COMPLETED).order_by("-finished_at", "-id").first()
    )


def active_full_run() -> MatchRun | None:
    return MatchRun.objects.filter(scope=RunScope.FULL, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
