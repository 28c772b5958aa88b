"""Stable proposals: what a matching run keeps, supersedes and adds.

The one place that decides what happens to open engagements when a run plans again:

1. ``proposals_review`` (before the plan) reads the open engagements of the needs being planned.
   Every open pair is *fixed*: it keeps its place and its capacity (``plan.Commitments``), and the
   solver may only add pairs. A proposal the provider has not committed to yet (proposed,
   interested) is superseded only when
   - its offer is no longer published,
   - the pair, scored again, falls below the cut-off (or is no longer eligible), or
   - the offer's capacity is really gone (capacity left this year < the proposals holding it):
     the weakest proposals of that offer go first.
   Accepted, agreed and in-progress engagements are never touched by matching.
2. ``proposals_sync`` (in the run's closing transaction) supersedes what the review decided,
   opens a proposal for each newly assigned pair, links each superseded proposal to the one that
   replaced it for the same need, and notifies: new proposals to the recipient, superseded ones to
   both sides. A re-run over unchanged data therefore writes no engagement and sends nothing.

A need leaving publication supersedes its open proposals at once (``proposals_supersede_for_needs``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer
from matching.models import (
    OPEN_STATES,
    SUPERSEDABLE_STATES,
    Engagement,
    EngagementEvent,
    EngagementState,
    MatchCandidate,
    MatchRun,
    SupersededReason,
)
from matching.plan import Commitments
from matching.selectors import offer_capacity_left

E = EngagementState


@dataclass
class ProposalReview:
    """What a run keeps (``commitments``), what it supersedes and how much capacity is held."""

    commitments: Commitments = field(default_factory=Commitments)
    supersede: dict[int, str] = field(default_factory=dict)  # engagement id -> SupersededReason
    held: dict[int, int] = field(default_factory=dict)  # offer id -> proposals holding capacity

    def net(self, capacities: dict[int, int]) -> dict[int, int]:
        """Capacity the solver may still give: what is left minus what open proposals hold."""
        return {o: max(0, c - self.held.get(o, 0)) for o, c in capacities.items()}


def open_pairs_by_need(need_ids: Iterable[int] | None) -> dict[int, list[int]]:
    """Offers of the open engagements per need (all needs when ``need_ids`` is None): scoring
    looks at these pairs again whatever the search returns."""
    rows = Engagement.objects.filter(state__in=OPEN_STATES)
    if need_ids is not None:
        rows = rows.filter(need_id__in=list(need_ids))
    found: dict[int, list[int]] = {}
    for need_id, offer_id in rows.values_list("need_id", "offer_id"):
        found.setdefault(need_id, []).append(offer_id)
    return found


def with_open_pairs(candidates: dict[int, list[int]], open_pairs: dict[int, list[int]]) -> dict[int, list[int]]:
    """The search's candidates plus each need's open pairs."""
    merged = dict(candidates)
    for need_id, offer_ids in open_pairs.items():
        have = merged.get(need_id, [])
        merged[need_id] = have + [o for o in offer_ids if o not in have]
    return merged


def proposals_review(*, results: dict, capacities: dict[int, int], min_score: float) -> ProposalReview:
    """Decide, before planning the needs in ``results``, which open pairs stay and which go.

    ``capacities`` is each offer's capacity left this year (accepted engagements already out).
    """
    need_ids = list(results)
    engagements = list(
        Engagement.objects.filter(need_id__in=need_ids, state__in=OPEN_STATES + (E.DISMISSED, E.DECLINED)).values_list(
            "id", "need_id", "offer_id", "state", "score"
        )
    )
    refused = frozenset((n, o) for _id, n, o, state, _s in engagements if state in (E.DISMISSED, E.DECLINED))
    open_rows = [row for row in engagements if row[3] in OPEN_STATES]
    offer_ids = {o for _id, _n, o, _st, _s in open_rows}
    published = set(
        ExpertiseOffer.objects.filter(pk__in=offer_ids, status=EntryStatus.PUBLISHED).values_list("id", flat=True)
    )
    scores = {(n, p.offer_id): p.score for n, result in results.items() for p in result.pairs}
    supersede: dict[int, str] = {}
    for engagement_id, need_id, offer_id, state, _score in open_rows:
        if state not in SUPERSEDABLE_STATES:
            continue
        if offer_id not in published:
            supersede[engagement_id] = SupersededReason.OFFER_GONE
        elif scores.get((need_id, offer_id), -1.0) < min_score:
            supersede[engagement_id] = SupersededReason.BELOW_CUTOFF

    # Capacity: every uncommitted proposal of an offer (of any need) holds one unit of it.
    holding = list(
        Engagement.objects.filter(offer_id__in=set(capacities) | offer_ids, state__in=SUPERSEDABLE_STATES)
        .exclude(pk__in=list(supersede))
        .values_list("id", "offer_id", "state", "score", "created_at")
    )
    by_offer: dict[int, list[tuple]] = {}
    for row in holding:
        by_offer.setdefault(row[1], []).append(row)
    held: dict[int, int] = {}
    for offer_id, rows in by_offer.items():
        left = capacities.get(offer_id)
        if left is None:
            left = _capacity_left(offer_id)
        excess = len(rows) - left
        if excess > 0:
            # The weakest go first: untouched before answered, lower score, then the newest.
            rows.sort(key=lambda r: (r[2] != E.PROPOSED, r[3] or 0.0, -r[4].timestamp()))
            for row in rows[:excess]:
                supersede[row[0]] = SupersededReason.CAPACITY_GONE
        held[offer_id] = len(rows) - max(0, excess)
    fixed = frozenset((n, o) for engagement_id, n, o, _st, _s in open_rows if engagement_id not in supersede)
    return ProposalReview(commitments=Commitments(fixed=fixed, refused=refused), supersede=supersede, held=held)


def _capacity_left(offer_id: int) -> int:
    offer = ExpertiseOffer.objects.filter(pk=offer_id).first()
    return offer_capacity_left(offer) if offer is not None else 0


def proposals_sync(*, run: MatchRun, assigned: set[tuple[int, int]], supersede: dict[int, str] | None = None) -> int:
    """Supersede what the review decided, open a proposal for each newly assigned pair, link
    replacements and notify. Runs inside the caller's transaction; returns proposals opened."""
    from matching.services.notifications import notify_proposals, notify_superseded

    superseded = _supersede(supersede or {})
    by_pair = {
        (need_id, offer_id): (candidate_id, score, south_south)
        for need_id, offer_id, candidate_id, score, south_south in MatchCandidate.objects.filter(
            run=run, assigned=True
        ).values_list("need_id", "offer_id", "id", "score", "south_south")
    }
    need_ids = {n for n, _o in assigned}
    taken = set(
        Engagement.objects.filter(need_id__in=need_ids)
        .filter(state__in=OPEN_STATES + (E.DISMISSED, E.DECLINED))
        .values_list("need_id", "offer_id")
    )
    new = []
    pairs = sorted(assigned - taken)
    # What each side will read of the other for the whole engagement: the titles published now.
    need_titles = dict(AssistanceNeed.objects.filter(pk__in={n for n, _o in pairs}).values_list("id", "title"))
    offer_titles = dict(ExpertiseOffer.objects.filter(pk__in={o for _n, o in pairs}).values_list("id", "title"))
    for pair in pairs:
        candidate_id, score, south_south = by_pair.get(pair, (None, None, False))
        new.append(
            Engagement(
                need_id=pair[0],
                offer_id=pair[1],
                state=E.PROPOSED,
                candidate_id=candidate_id,
                score=score,
                south_south=south_south,
                need_title=need_titles.get(pair[0], ""),
                offer_title=offer_titles.get(pair[1], ""),
            )
        )
    created = Engagement.objects.bulk_create(new, batch_size=2000)
    EngagementEvent.objects.bulk_create(
        [EngagementEvent(engagement=e, action="propose", from_state="", to_state=e.state) for e in created],
        batch_size=2000,
    )
    if superseded:
        replacement: dict[int, int] = {}
        for engagement in sorted(created, key=lambda e: (-(e.score or 0.0), e.pk)):
            replacement.setdefault(engagement.need_id, engagement.pk)
        for engagement in superseded:
            if engagement.need_id in replacement:
                engagement.replaced_by_id = replacement[engagement.need_id]
                Engagement.objects.filter(pk=engagement.pk).update(replaced_by_id=engagement.replaced_by_id)
        notify_superseded(engagements=superseded)
    if created:
        notify_proposals(engagements=created)
    return len(created)


def _supersede(reasons: dict[int, str]) -> list[Engagement]:
    """The system transition, for many proposals at once; only those still uncommitted (a side
    may have answered meanwhile). Returns the engagements superseded."""
    from matching.services.engagements import ENGAGEMENTS, EngagementSystemAction

    if not reasons:
        return []
    action = EngagementSystemAction.SUPERSEDE
    locked = list(Engagement.objects.select_for_update().filter(pk__in=list(reasons), state__in=SUPERSEDABLE_STATES))
    now = timezone.now()
    events = []
    for engagement in locked:
        move = ENGAGEMENTS.transition(action, EngagementState(engagement.state))
        reason = reasons[engagement.pk]
        events.append(
            EngagementEvent(
                engagement_id=engagement.pk,
                action=action.value,
                from_state=engagement.state,
                to_state=move.to,
                reason=reason,
            )
        )
        engagement.state, engagement.superseded_reason, engagement.updated_at = move.to, reason, now
    Engagement.objects.bulk_update(locked, ["state", "superseded_reason", "updated_at"], batch_size=2000)
    EngagementEvent.objects.bulk_create(events, batch_size=2000)
    return locked


def proposals_supersede_for_needs(*, need_ids: list[int]) -> list[Engagement]:
    """Needs no longer published: their uncommitted proposals are superseded, both sides told."""
    from matching.services.notifications import notify_superseded

    ids = Engagement.objects.filter(need_id__in=need_ids, state__in=SUPERSEDABLE_STATES).values_list("id", flat=True)
    superseded = _supersede(dict.fromkeys(ids, SupersededReason.NEED_GONE))
    if superseded:
        notify_superseded(engagements=superseded)
    return superseded
