"""The capacity-constrained plan: which provider for which need.

A min-cost-flow problem solved with OR-Tools (``SimpleMinCostFlow``):

    source ──(providers wanted)──> need ──(1, cost = -score × priority)──> offer ──(capacity left)──> sink
    source ─────────────────────────────(free bypass)────────────────────────────────────────> sink

The bypass lets a need stay unserved at no cost, so the optimum maximises the total (priority-
weighted) score of the assigned pairs, never assigning a pair just to push flow. Only eligible
pairs reach the plan (same-State and "require South-South" are filtered before), pairs under the
minimum score are left out, and an offer never takes more than its remaining capacity.

Open proposals are *commitments* (``Commitments``): a run never moves them. Their pairs are
assigned before the solver runs, each takes one of its need's wanted providers, the capacity they
hold is already out of ``capacities`` (the caller nets it), and the solver only *adds* pairs for
what is left. Pairs a side refused are never assigned again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ortools.graph.python import min_cost_flow

#: Priority multiplies a pair's value in the objective.
PRIORITY_WEIGHT = {"high": 1.25, "medium": 1.0, "low": 0.8}
_SCALE = 10_000  # costs are integers


@dataclass
class PlanNeed:
    wanted: int
    priority: str = "medium"


@dataclass(frozen=True)
class Commitments:
    """What a run must keep: ``fixed`` pairs (open engagements) and ``refused`` pairs."""

    fixed: frozenset[tuple[int, int]] = frozenset()
    refused: frozenset[tuple[int, int]] = frozenset()


@dataclass
class PlanResult:
    assigned: set[tuple[int, int]] = field(default_factory=set)
    objective: float = 0.0
    seconds: float = 0.0


def solve(
    needs: dict[int, PlanNeed],
    capacities: dict[int, int],
    pairs: list[tuple[int, int, float]],
    commitments: Commitments | None = None,
) -> PlanResult:
    """Assign (need, offer) ``pairs`` (with scores) within ``capacities`` and wanted counts, on
    top of the ``commitments`` (their fixed pairs of these needs are part of the result)."""
    started = time.perf_counter()
    commitments = commitments or Commitments()
    fixed = {pair for pair in commitments.fixed if pair[0] in needs}
    held: dict[int, int] = {}
    for need_id, _offer_id in fixed:
        held[need_id] = held.get(need_id, 0) + 1
    needs = {n: PlanNeed(max(0, p.wanted - held.get(n, 0)), p.priority) for n, p in needs.items()}
    taken = fixed | commitments.refused
    usable = [
        (n, o, s)
        for n, o, s in pairs
        if n in needs and capacities.get(o, 0) > 0 and needs[n].wanted > 0 and (n, o) not in taken
    ]
    if not usable:
        return PlanResult(assigned=fixed, seconds=time.perf_counter() - started)
    need_index = {n: i + 2 for i, n in enumerate(sorted({n for n, _o, _s in usable}))}
    offer_base = len(need_index) + 2
    offer_index = {o: offer_base + i for i, o in enumerate(sorted({o for _n, o, _s in usable}))}
    source, sink = 0, 1
    total = sum(needs[n].wanted for n in need_index)

    flow = min_cost_flow.SimpleMinCostFlow()
    for need_id, node in need_index.items():
        flow.add_arc_with_capacity_and_unit_cost(source, node, needs[need_id].wanted, 0)
    pair_arcs = {}
    for need_id, offer_id, score in usable:
        cost = -round(score * PRIORITY_WEIGHT.get(needs[need_id].priority, 1.0) * _SCALE)
        pair_arcs[flow.add_arc_with_capacity_and_unit_cost(need_index[need_id], offer_index[offer_id], 1, cost)] = (
            need_id,
            offer_id,
        )
    for offer_id, node in offer_index.items():
        flow.add_arc_with_capacity_and_unit_cost(node, sink, capacities[offer_id], 0)
    flow.add_arc_with_capacity_and_unit_cost(source, sink, total, 0)
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)

    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"the matching plan could not be solved (status {status})")
    assigned = fixed | {pair for arc, pair in pair_arcs.items() if flow.flow(arc) > 0}
    return PlanResult(assigned=assigned, objective=-flow.optimal_cost() / _SCALE, seconds=time.perf_counter() - started)
