"""Reads for the web pages: the home page per role and the secretariat's dashboard.

Everything here starts from the scoped selectors of ``kb`` and ``matching``, so a page never shows
what its user may not see.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q

from accounts.models import AccessRequest, AccessRequestStatus, User
from kb.models import (
    AssistanceNeed,
    EntryEvent,
    EntryStatus,
    ExpertiseOffer,
    Region,
    RegionalGroup,
    RevisionStatus,
    TAType,
    UncacArticle,
    UncacChapter,
)
from kb.selectors import need_list_for_user, offer_list_for_user, user_scope
from matching.models import Engagement, EngagementState, MatchCandidate, NeedOutcome
from matching.selectors import active_full_run, engagement_list_for_user


def _mine(qs, model, scope):
    mine = Q(organisation_id__in=scope.member_org_ids)
    if model is AssistanceNeed:
        mine |= Q(organisation__isnull=True, country_id__in=scope.recipient_country_ids)
    return qs.filter(mine)


@dataclass
class HomeData:
    drafts: list = field(default_factory=list)
    returned: list = field(default_factory=list)
    new_proposals: list = field(default_factory=list)
    to_answer: list = field(default_factory=list)  # engagements waiting for this user's side
    activity: list = field(default_factory=list)
    awaiting_moderation: int = 0
    pending_access_requests: int = 0
    active_run: object = None


def home_data(*, user: User) -> HomeData:
    scope = user_scope(user)
    data = HomeData()
    for model, selector in ((ExpertiseOffer, offer_list_for_user), (AssistanceNeed, need_list_for_user)):
        mine = _mine(selector(user=user), model, scope)
        data.drafts += list(mine.filter(status=EntryStatus.DRAFT)[:20])
        data.returned += list(
            mine.filter(Q(status=EntryStatus.RETURNED) | Q(revision_status=RevisionStatus.RETURNED))[:20]
        )
    engagements = engagement_list_for_user(user=user)
    if not scope.is_moderator:
        as_recipient = Q(need__organisation_id__in=scope.recipient_org_ids) | Q(
            need__organisation__isnull=True, need__country_id__in=scope.recipient_country_ids
        )
        as_provider = Q(offer__organisation_id__in=scope.provider_org_ids)
        data.new_proposals = list(engagements.filter(as_recipient, state=EngagementState.PROPOSED)[:20])
        data.to_answer = list(
            engagements.filter(
                (as_provider & Q(state=EngagementState.INTERESTED)) | (as_recipient & Q(state=EngagementState.ACCEPTED))
            )[:20]
        )
    events = EntryEvent.objects.select_related("actor").order_by("-created_at")
    if not scope.is_moderator:
        events = events.filter(
            Q(offer__organisation_id__in=scope.member_org_ids) | Q(need__organisation_id__in=scope.member_org_ids)
        )
    data.activity = list(events[:10])
    if scope.is_moderator:
        data.awaiting_moderation = sum(
            m.objects.filter(Q(status=EntryStatus.SUBMITTED) | Q(revision_status=RevisionStatus.SUBMITTED)).count()
            for m in (ExpertiseOffer, AssistanceNeed)
        )
        data.pending_access_requests = AccessRequest.objects.filter(status=AccessRequestStatus.PENDING).count()
        data.active_run = active_full_run()
    return data


# --- the secretariat's dashboard -----------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    needs: int
    offers: int

    @property
    def gap(self) -> int:
        return self.needs - self.offers


def _published(model):
    return model.objects.filter(status=EntryStatus.PUBLISHED)


def demand_supply_by_chapter() -> list[Row]:
    needs = Counter(
        dict(_published(AssistanceNeed).values_list("articles__chapter").annotate(n=Count("id", distinct=True)))
    )
    offers = Counter(
        dict(_published(ExpertiseOffer).values_list("articles__chapter").annotate(n=Count("id", distinct=True)))
    )
    return [
        Row(str(c.number), f"{c.roman}. {c.title}", needs.get(c.number, 0), offers.get(c.number, 0))
        for c in UncacChapter.objects.all()
    ]


def demand_supply_by_article() -> list[Row]:
    needs = Counter(dict(_published(AssistanceNeed).values_list("articles").annotate(n=Count("id", distinct=True))))
    offers = Counter(dict(_published(ExpertiseOffer).values_list("articles").annotate(n=Count("id", distinct=True))))
    rows = [
        Row(str(a.number), f"{a.number}. {a.title}", needs.get(a.number, 0), offers.get(a.number, 0))
        for a in UncacArticle.objects.all()
    ]
    return sorted((r for r in rows if r.needs or r.offers), key=lambda r: (-r.gap, int(r.key)))


def demand_supply_by_region() -> list[Row]:
    needs = Counter(dict(_published(AssistanceNeed).values_list("country__region__name").annotate(n=Count("id"))))
    offers = Counter(
        dict(_published(ExpertiseOffer).values_list("organisation__country__region__name").annotate(n=Count("id")))
    )
    rows = [
        Row(r.name, r.display_name, needs.get(r.name, 0), offers.get(r.name, 0))
        for r in Region.objects.filter(kind="region")
    ]
    international = offers.get(None, 0)
    if international:
        from django.utils.translation import gettext as _

        rows.append(Row("international", _("International organisations"), 0, international))
    return rows


def demand_supply_by_group() -> list[Row]:
    needs = Counter(dict(_published(AssistanceNeed).values_list("country__regional_group").annotate(n=Count("id"))))
    offers = Counter(
        dict(_published(ExpertiseOffer).values_list("organisation__country__regional_group").annotate(n=Count("id")))
    )
    return [Row(g.value, str(g.label), needs.get(g.value, 0), offers.get(g.value, 0)) for g in RegionalGroup]


def demand_supply_by_ta_type() -> list[Row]:
    needs = Counter(
        dict(_published(AssistanceNeed).values_list("ta_types__code").annotate(n=Count("id", distinct=True)))
    )
    offers = Counter(
        dict(_published(ExpertiseOffer).values_list("ta_types__code").annotate(n=Count("id", distinct=True)))
    )
    return [Row(t.code, t.label, needs.get(t.code, 0), offers.get(t.code, 0)) for t in TAType.objects.all()]


def heatmap_article_region() -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Published needs per (article, region): the columns, and one row per article with needs."""
    regions = list(Region.objects.filter(kind="region").order_by("name"))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for article, region, n in (
        _published(AssistanceNeed)
        .exclude(articles=None)
        .values_list("articles", "country__region__name")
        .annotate(n=Count("id", distinct=True))
    ):
        counts[article][region] = n
    rows = [(f"{article}", [counts[article].get(r.name, 0) for r in regions]) for article in sorted(counts)]
    return [r.display_name for r in regions], rows


def south_south_share() -> tuple[int, int]:
    """(published needs with at least one current South-South candidate, published needs)."""
    published = _published(AssistanceNeed)
    with_ss = published.filter(
        Exists(MatchCandidate.objects.current().filter(need_id=OuterRef("pk"), south_south=True))
    ).count()
    return with_ss, published.count()


def needs_without_candidate(limit: int = 50) -> list:
    """Published needs the current matching leaves uncovered, oldest first."""
    covered = NeedOutcome.objects.filter(need_id=OuterRef("pk"), is_current=True, providers_assigned__gt=0)
    return list(
        _published(AssistanceNeed)
        .filter(~Exists(covered))
        .select_related("country")
        .order_by("published_at", "id")[:limit]
    )


def uncovered_reasons() -> dict[int, str]:
    return dict(NeedOutcome.objects.filter(is_current=True, providers_assigned=0).values_list("need_id", "reason"))


def engagement_outcomes() -> list[tuple[str, str, int]]:
    counts = dict(Engagement.objects.values_list("state").annotate(n=Count("id")))
    return [(state.value, str(state.label), counts.get(state.value, 0)) for state in EngagementState]
