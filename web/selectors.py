"""Reads for the web pages: the home page per role and the secretariat's dashboard.

Everything here starts from the scoped selectors of ``kb`` and ``matching``, so a page never shows
what its user may not see.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.utils.translation import gettext as _

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
from matching.selectors import active_full_run, engagements_proposed_to_recipient, engagements_waiting_for_answer


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
    # One query per kind and one for engagements (UNION of the two bounded lists), none per row:
    # the home page shows titles and states only, so no related rows are prefetched.
    for model, selector in ((ExpertiseOffer, offer_list_for_user), (AssistanceNeed, need_list_for_user)):
        mine = selector(user=user).filter(scope.owns(model)).select_related(None).prefetch_related(None)
        returned = Q(status=EntryStatus.RETURNED) | Q(revision_status=RevisionStatus.RETURNED)
        both = mine.filter(status=EntryStatus.DRAFT)[:20].union(mine.filter(returned)[:20], all=True)
        for entry in both:
            is_returned = entry.status == EntryStatus.RETURNED or entry.revision_status == RevisionStatus.RETURNED
            (data.returned if is_returned else data.drafts).append(entry)
    if not scope.is_moderator:  # moderators act for no side: their home lists the secretariat's work
        proposed = (
            engagements_proposed_to_recipient(user=user)
            .select_related("need", "offer")
            .prefetch_related(None)
            .annotate(home_list=Value(1))
        )
        to_answer = (
            engagements_waiting_for_answer(user=user)
            .select_related("need", "offer")
            .prefetch_related(None)
            .annotate(home_list=Value(2))
        )
        for engagement in proposed[:20].union(to_answer[:20], all=True):
            (data.new_proposals if engagement.home_list == 1 else data.to_answer).append(engagement)
    # A UNION has no order of its own: newest first, as each list was.
    for rows in (data.drafts, data.returned, data.new_proposals, data.to_answer):
        rows.sort(key=lambda row: (row.updated_at, row.pk), reverse=True)
    events = EntryEvent.objects.select_related("actor").order_by("-created_at")
    if not scope.is_moderator:
        events = events.filter(
            scope.owns(ExpertiseOffer, prefix="offer__") | scope.owns(AssistanceNeed, prefix="need__")
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
#
# Demand is a published need; supply is a published offer. By region, supply counts the offers
# *open to* the region (those naming it among their regions served, and those naming none), so
# "gap" reads as what the region asks for against what it could get.

#: A published entry's model (the filters work on either kind).
_Entry = TypeVar("_Entry", AssistanceNeed, ExpertiseOffer)


@dataclass(frozen=True)
class DashboardFilter:
    """Period of publication, M49 region and UNCAC chapter the dashboard is limited to."""

    since: dt.date | None = None
    until: dt.date | None = None
    region: Region | None = None
    chapter: UncacChapter | None = None

    def _period(self, qs: QuerySet[_Entry]) -> QuerySet[_Entry]:
        if self.since:
            qs = qs.filter(published_at__date__gte=self.since)
        if self.until:
            qs = qs.filter(published_at__date__lte=self.until)
        return qs

    def needs(self) -> QuerySet[AssistanceNeed]:
        qs = self._period(_published(AssistanceNeed))
        if self.region:
            qs = qs.filter(country__region=self.region)
        if self.chapter:
            qs = qs.filter(articles__chapter=self.chapter)
        return qs.distinct() if self.chapter else qs

    def offers(self) -> QuerySet[ExpertiseOffer]:
        qs = self._period(_published(ExpertiseOffer))
        if self.region:
            qs = qs.filter(Q(regions_served=self.region) | Q(regions_served__isnull=True))
        if self.chapter:
            qs = qs.filter(articles__chapter=self.chapter)
        return qs.distinct() if (self.chapter or self.region) else qs

    @property
    def is_set(self) -> bool:
        return any((self.since, self.until, self.region, self.chapter))


@dataclass
class Row:
    key: str
    label: str
    needs: int
    offers: int

    @property
    def gap(self) -> int:
        return self.needs - self.offers


def _published(model: type[_Entry]) -> QuerySet[_Entry]:
    return model.objects.filter(status=EntryStatus.PUBLISHED)


def _count_by(qs: QuerySet[Any], path: str) -> Counter:
    return Counter(dict(qs.order_by().values_list(path).annotate(n=Count("id", distinct=True))))


def demand_supply_by_chapter(f: DashboardFilter = DashboardFilter()) -> list[Row]:
    needs, offers = _count_by(f.needs(), "articles__chapter"), _count_by(f.offers(), "articles__chapter")
    chapters = UncacChapter.objects.all()
    if f.chapter:
        chapters = chapters.filter(pk=f.chapter.pk)
    return [
        Row(str(c.number), f"{c.roman}. {c.title}", needs.get(c.number, 0), offers.get(c.number, 0)) for c in chapters
    ]


def demand_supply_by_article(f: DashboardFilter = DashboardFilter()) -> list[Row]:
    needs, offers = _count_by(f.needs(), "articles"), _count_by(f.offers(), "articles")
    articles = UncacArticle.objects.all()
    if f.chapter:
        articles = articles.filter(chapter=f.chapter)
    rows = [
        Row(str(a.number), f"{a.number}. {a.title}", needs.get(a.number, 0), offers.get(a.number, 0)) for a in articles
    ]
    return sorted((r for r in rows if r.needs or r.offers), key=lambda r: (-r.gap, int(r.key)))


def _regions(f: DashboardFilter) -> list[Region]:
    regions = Region.objects.filter(kind="region").order_by("name")
    return list(regions.filter(pk=f.region.pk) if f.region else regions)


def _offers_open_to(offers: QuerySet[ExpertiseOffer]) -> tuple[dict[int, set[int]], set[int]]:
    """Offer id -> ids of the regions it names, and the offers that name none (open to all)."""
    served: dict[int, set[int]] = defaultdict(set)
    everywhere: set[int] = set()
    for offer_id, region_id in offers.order_by().values_list("id", "regions_served"):
        if region_id is None:
            everywhere.add(offer_id)
        else:
            served[offer_id].add(region_id)
    return served, everywhere


def demand_supply_by_region(f: DashboardFilter = DashboardFilter()) -> list[Row]:
    needs = _count_by(f.needs(), "country__region")
    served, everywhere = _offers_open_to(f.offers())
    return [
        Row(r.name, r.display_name, needs.get(r.pk, 0), len(everywhere) + sum(r.pk in s for s in served.values()))
        for r in _regions(f)
    ]


def demand_supply_by_group(f: DashboardFilter = DashboardFilter()) -> list[Row]:
    needs = _count_by(f.needs(), "country__regional_group")
    offers = _count_by(f.offers(), "organisation__country__regional_group")
    return [Row(g.value, str(g.label), needs.get(g.value, 0), offers.get(g.value, 0)) for g in RegionalGroup]


def demand_supply_by_ta_type(f: DashboardFilter = DashboardFilter()) -> list[Row]:
    needs, offers = _count_by(f.needs(), "ta_types__code"), _count_by(f.offers(), "ta_types__code")
    return [Row(t.code, t.label, needs.get(t.code, 0), offers.get(t.code, 0)) for t in TAType.objects.all()]


@dataclass
class DemandSupplyMap:
    """Needs and offers per UNCAC article (rows) and M49 region (columns)."""

    regions: list[Region]
    articles: list[UncacArticle]
    cells: dict[tuple[int, int], tuple[int, int]]  # (article number, region id) -> (needs, offers)

    def cell(self, article: UncacArticle, region: Region) -> tuple[int, int]:
        return self.cells.get((article.number, region.pk), (0, 0))


def demand_supply_article_region(f: DashboardFilter = DashboardFilter()) -> DemandSupplyMap:
    regions = _regions(f)
    needs: Counter = Counter()
    for article, region, n in (
        f.needs()
        .exclude(articles=None)
        .order_by()
        .values_list("articles", "country__region")
        .annotate(n=Count("id", distinct=True))
    ):
        needs[(article, region)] = n
    served, everywhere = _offers_open_to(f.offers())
    offers: Counter = Counter()
    offer_articles: dict[int, set[int]] = defaultdict(set)
    for offer_id, article in f.offers().exclude(articles=None).order_by().values_list("id", "articles"):
        offer_articles[offer_id].add(article)
    for offer_id, articles in offer_articles.items():
        open_to = (
            [r.pk for r in regions] if offer_id in everywhere else [r.pk for r in regions if r.pk in served[offer_id]]
        )
        for article in articles:
            for region_id in open_to:
                offers[(article, region_id)] += 1
    shown = {article for article, _region in needs} | {article for article, _region in offers}
    if f.chapter:
        shown &= set(f.chapter.articles.values_list("number", flat=True))
    cells = {key: (needs.get(key, 0), offers.get(key, 0)) for key in set(needs) | set(offers)}
    return DemandSupplyMap(regions, list(UncacArticle.objects.filter(number__in=shown).order_by("number")), cells)


def south_south_share(f: DashboardFilter = DashboardFilter()) -> tuple[int, int]:
    """(published needs with at least one current South-South candidate, published needs)."""
    published = f.needs()
    with_ss = published.filter(
        Exists(MatchCandidate.objects.current().filter(need_id=OuterRef("pk"), south_south=True))
    ).count()
    return with_ss, published.count()


def needs_without_candidate(f: DashboardFilter = DashboardFilter(), limit: int = 50) -> list:
    """Published needs the current matching leaves uncovered, oldest first."""
    covered = NeedOutcome.objects.filter(need_id=OuterRef("pk"), is_current=True, providers_assigned__gt=0)
    return list(f.needs().filter(~Exists(covered)).select_related("country").order_by("published_at", "id")[:limit])


def uncovered_reasons() -> dict[int, str]:
    return dict(NeedOutcome.objects.filter(is_current=True, providers_assigned=0).values_list("need_id", "reason"))


def engagement_deliveries() -> list[tuple[str, str, int]]:
    """Completed engagements by what they delivered (the outcome either side recorded), with
    those whose outcome nobody recorded yet last: (code, label, count)."""
    from matching.models import OutcomeResult

    counts = dict(
        Engagement.objects.filter(state=EngagementState.COMPLETED)
        .order_by()
        .values_list("outcome_result")
        .annotate(n=Count("id"))
    )
    rows = [(result.value, str(result.label), counts.get(result.value, 0)) for result in OutcomeResult]
    rows.append(("", _("Outcome not recorded yet"), counts.get("", 0)))
    return rows


def engagement_outcomes() -> list[tuple[str, str, int]]:
    counts = dict(Engagement.objects.values_list("state").annotate(n=Count("id")))
    return [(state.value, str(state.label), counts.get(state.value, 0)) for state in EngagementState]
