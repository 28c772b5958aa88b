"""Full runs, incremental re-scoring, outcomes, exports — on both search backends."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from kb.content import entry_content
from kb.models import EntryStatus
from kb.search.sync import search_outbox_drain
from matching.models import Engagement, EngagementState, MatchCandidate, MatchRun, NeedOutcome, RunStatus, RunTrigger
from matching.services.runs import (
    MatchRunAlreadyActive,
    match_rescore_needs,
    match_run_cancel,
    match_run_execute,
    match_run_start,
)

pytestmark = pytest.mark.django_db


def run_full(backend):
    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    return match_run_execute(run_id=run.pk, backend=backend)


def current(need):
    return list(MatchCandidate.objects.current().filter(need=need).order_by("rank"))


def test_full_run_ranks_explains_and_plans(search_backend, small_kb):
    offers, needs = small_kb
    run = run_full(search_backend)
    assert run.status == RunStatus.COMPLETED
    assert run.needs_total == run.needs_done == 4
    assert set(run.timings) >= {"offers", "needs", "candidates", "scoring", "plan", "save"}

    civ = current(needs["N-CIV"])
    offered = [c.offer.external_id for c in civ]
    assert "O-CIV" not in offered  # a State never matches itself
    assert offered[0] == "O-RWA"  # South-South, asset declarations, tags and text
    assert "O-FRA" in offered  # cross-language: French need, French offer
    rwa = civ[0]
    assert rwa.south_south
    assert any(r["code"] == "south_south" and r["params"]["definition"] == "g77" for r in rwa.reasons)

    # Capacity 1: only one of the two asset-declaration needs gets the Rwandan offer.
    assigned_rwa = MatchCandidate.objects.current().filter(offer=offers["O-RWA"], assigned=True).count()
    assert assigned_rwa == 1

    # "require South-South": the Norwegian offer is never a candidate, the Jordanian one is.
    hnd = [c.offer.external_id for c in current(needs["N-HND"])]
    assert hnd[0] == "O-JOR"
    assert "O-NOR" not in hnd

    # A need no provider covers says why.
    outcome = NeedOutcome.objects.get(need=needs["N-PNG"], is_current=True)
    assert outcome.providers_assigned == 0
    assert outcome.reason in ("no_candidate", "below_threshold")
    assert run.needs_covered == 3
    assert run.assigned_count == 3

    # Assigned pairs become proposals.
    assert Engagement.objects.filter(state=EngagementState.PROPOSED).count() == 3


def test_a_dismissed_or_declined_pair_is_never_proposed_again(search_backend, small_kb):
    run_full(search_backend)
    proposals = list(Engagement.objects.filter(state=EngagementState.PROPOSED).order_by("id"))
    dismissed, declined = proposals[0], proposals[1]
    Engagement.objects.filter(pk=dismissed.pk).update(state=EngagementState.DISMISSED)
    Engagement.objects.filter(pk=declined.pk).update(state=EngagementState.DECLINED)
    run_full(search_backend)
    for refused in (dismissed, declined):
        reopened = Engagement.objects.filter(need=refused.need_id, offer=refused.offer_id).exclude(pk=refused.pk)
        assert not reopened.exists()


def test_only_non_south_south_candidates_is_the_reason_given(search_backend, small_kb):
    offers, needs = small_kb
    offers["O-JOR"].status = EntryStatus.ARCHIVED
    offers["O-JOR"].save()
    search_outbox_drain(backend=search_backend)
    run_full(search_backend)
    outcome = NeedOutcome.objects.get(need=needs["N-HND"], is_current=True)
    assert outcome.reason == "only_non_south_south"
    assert not current(needs["N-HND"])


def test_capacity_exhausted_is_the_reason_given(search_backend, small_kb):
    offers, needs = small_kb
    for key in ("O-FRA", "O-CIV"):  # leave the Rwandan offer (capacity 1) for both needs
        offers[key].status = EntryStatus.ARCHIVED
        offers[key].save()
    search_outbox_drain(backend=search_backend)
    run_full(search_backend)
    winners = [
        n for n in ("N-CIV", "N-SEN") if MatchCandidate.objects.current().filter(need=needs[n], assigned=True).exists()
    ]
    assert len(winners) == 1
    loser = ({"N-CIV", "N-SEN"} - set(winners)).pop()
    assert [c.offer.external_id for c in current(needs[loser])][0] == "O-RWA"
    assert NeedOutcome.objects.get(need=needs[loser], is_current=True).reason == "capacity_exhausted"


def test_one_full_run_at_a_time(small_kb):
    match_run_start(trigger=RunTrigger.API, enqueue=False)
    with pytest.raises(MatchRunAlreadyActive):
        match_run_start(trigger=RunTrigger.API, enqueue=False)


def test_executing_twice_changes_nothing(search_backend, small_kb):
    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    match_run_execute(run_id=run.pk, backend=search_backend)
    rows = MatchCandidate.objects.filter(run=run).count()
    assert match_run_execute(run_id=run.pk, backend=search_backend) is None  # already done: nothing to claim
    # A redelivered task after a worker died mid-run takes over and converges on the same rows.
    MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, lease_expires_at="2000-01-01T00:00:00Z")
    match_run_execute(run_id=run.pk, backend=search_backend)
    assert MatchCandidate.objects.filter(run=run).count() == rows
    assert Engagement.objects.count() == 3


def test_a_cancelled_run_stops_and_changes_no_result(search_backend, small_kb):
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)
    match_run_cancel(run=run)
    assert match_run_execute(run_id=run.pk, backend=search_backend) is None
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not MatchCandidate.objects.exists()


def _candidate_rows(run):
    return list(
        MatchCandidate.objects.filter(run=run)
        .order_by("need_id", "rank")
        .values_list("need_id", "offer_id", "rank", "score", "reasons", "assigned")
    )


def test_batches_searched_ahead_give_the_same_result_as_one_batch(search_backend, small_kb, settings):
    one_batch = run_full(search_backend)
    settings.MATCHING_BATCH_SIZE = 1  # four batches: each one's search overlaps the previous one's scoring
    batched = run_full(search_backend)
    assert batched.needs_done == 4
    assert _candidate_rows(batched) == _candidate_rows(one_batch)


def test_a_run_cancelled_between_batches_stops_there(search_backend, small_kb, settings, monkeypatch):
    from matching.services.runs import batches

    settings.MATCHING_BATCH_SIZE = 1
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)
    real_score_needs = batches.score_needs

    def score_then_cancel(*args, **kwargs):  # a moderator cancels while the first batch is scored
        scored = real_score_needs(*args, **kwargs)
        MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
        return scored

    monkeypatch.setattr(batches, "score_needs", score_then_cancel)
    match_run_execute(run_id=run.pk, backend=search_backend)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not MatchCandidate.objects.filter(run=run).exists()


@pytest.mark.parametrize("enabled_before", [True, False])
def test_a_run_leaves_the_garbage_collector_as_it_found_it(search_backend, small_kb, enabled_before):
    import gc

    was = gc.isenabled()
    (gc.enable if enabled_before else gc.disable)()
    try:
        run_full(search_backend)
        assert gc.isenabled() is enabled_before
    finally:
        (gc.enable if was else gc.disable)()


def test_incremental_rescoring_of_one_need(search_backend, small_kb):
    offers, needs = small_kb
    full = run_full(search_backend)
    before = {c.pk for c in current(needs["N-SEN"])}
    run = match_rescore_needs(need_ids=[needs["N-SEN"].pk], backend=search_backend)
    assert run.scope == "incremental"
    assert run.needs_total == 1
    after = current(needs["N-SEN"])
    assert after
    assert {c.pk for c in after}.isdisjoint(before)
    assert all(c.run_id == run.pk for c in after)
    # Other needs keep the full run's results, and capacity given to them is respected.
    assert all(c.run_id == full.pk for c in current(needs["N-CIV"]))
    rwa_assigned = MatchCandidate.objects.current().filter(offer=offers["O-RWA"], assigned=True).count()
    assert rwa_assigned == 1


def test_an_unpublished_need_loses_its_candidates_and_proposals(search_backend, small_kb):
    _offers, needs = small_kb
    run_full(search_backend)
    need = needs["N-CIV"]
    need.status = EntryStatus.ARCHIVED
    need.save()
    assert match_rescore_needs(need_ids=[need.pk], backend=search_backend) is None
    assert not current(need)
    assert not Engagement.objects.filter(need=need, state=EngagementState.PROPOSED).exists()


@pytest.mark.django_db
def test_publishing_triggers_incremental_matching_after_commit(
    search_backend, small_kb, settings, civ, moderator, django_capture_on_commit_callbacks
):
    from kb.services.entries import need_create
    from kb.services.moderation import entry_transition

    settings.MATCHING_INCREMENTAL = True
    run_full(search_backend)
    with django_capture_on_commit_callbacks(execute=True):
        need = need_create(
            actor=civ.user,
            organisation=civ.organisation,
            content=entry_content(
                "need",
                {
                    "title": "Protection des lanceurs d'alerte",
                    "description": "Protéger les lanceurs d'alerte et les dénonciateurs.",
                    "language": "fr",
                    "articles": [33],
                    "ta_types": ["legislative_assistance"],
                },
            ),
        )
    with django_capture_on_commit_callbacks(execute=True):
        entry_transition(actor=civ.user, entry=need, action="submit")
    assert not current(need)  # not published yet: nothing to match
    with django_capture_on_commit_callbacks(execute=True):
        entry_transition(actor=moderator.user, entry=need, action="publish")
    offered = [c.offer.external_id for c in current(need)]
    assert offered[:2]
    assert set(offered[:2]) <= {"O-JOR", "O-NOR"}
    assert MatchRun.objects.filter(scope="incremental", need_ids=[need.pk]).exists()


def test_run_matching_and_export_matches_commands(search_backend, small_kb, tmp_path, capsys):
    with pytest.raises(CommandError):
        call_command("export_matches", str(tmp_path / "none.jsonl"))
    call_command("run_matching", "--sync")
    assert "completed" in capsys.readouterr().out
    target = tmp_path / "matches.jsonl"
    call_command("export_matches", str(target), "--top", "2")
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert lines
    assert set(lines[0]) == {"need", "offer", "rank", "score", "assigned", "south_south", "reasons", "components"}
    assert all(1 <= line["rank"] <= 2 for line in lines)
    civ = [line for line in lines if line["need"] == "N-CIV"]
    assert civ[0]["offer"] == "O-RWA"
    assert any("South-South" in reason for reason in civ[0]["reasons"])
    assert set(civ[0]["components"]) <= {
        "text",
        "articles",
        "ta_type",
        "thematic",
        "language",
        "south_south",
        "proximity",
        "capacity",
        "feedback",
    }
