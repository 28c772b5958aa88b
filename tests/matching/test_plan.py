"""The capacity-constrained plan (min-cost flow)."""

from __future__ import annotations

from matching.plan import PlanNeed, solve


def test_respects_capacity_and_maximises_total_score():
    # Greedy by score would give offer 1 to need A (0.9) and leave B with nothing (0.1 elsewhere);
    # the optimum gives offer 1 to B and offer 2 to A: 0.8 + 0.85 > 0.9 + 0.1.
    needs = {1: PlanNeed(1), 2: PlanNeed(1)}
    pairs = [(1, 100, 0.9), (1, 200, 0.8), (2, 100, 0.85), (2, 200, 0.1)]
    result = solve(needs, {100: 1, 200: 1}, pairs)
    assert result.assigned == {(1, 200), (2, 100)}
    assert round(result.objective, 2) == 1.65


def test_capacity_is_never_exceeded_and_wanted_counts_are_honoured():
    needs = {n: PlanNeed(2) for n in range(1, 6)}
    pairs = [(n, o, 0.5 + 0.01 * n) for n in range(1, 6) for o in (100, 200, 300)]
    result = solve(needs, {100: 2, 200: 1, 300: 0}, pairs)
    per_offer = {o: sum(1 for _n, x in result.assigned if x == o) for o in (100, 200, 300)}
    per_need = {n: sum(1 for x, _o in result.assigned if x == n) for n in needs}
    assert per_offer == {100: 2, 200: 1, 300: 0}
    assert all(v <= 2 for v in per_need.values())
    assert len(result.assigned) == 3


def test_priority_breaks_competition_for_the_last_slot():
    needs = {1: PlanNeed(1, "low"), 2: PlanNeed(1, "high")}
    result = solve(needs, {100: 1}, [(1, 100, 0.7), (2, 100, 0.65)])
    assert result.assigned == {(2, 100)}


def test_a_need_can_stay_unserved():
    result = solve({1: PlanNeed(1)}, {100: 1}, [])
    assert result.assigned == set()
