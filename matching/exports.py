"""``export_matches``: the candidates of the latest completed full run in the interchange format."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.utils import translation

from matching.models import MatchCandidate, MatchRun
from matching.reasons import render_reasons
from matching.scoring import COMPONENTS


def match_lines(*, run: MatchRun | None, top: int = 10, current: bool = False, language: str = "en") -> Iterator[str]:
    """One JSON line per (need, offer) candidate of ``run`` (rank ≤ ``top``); with ``current``,
    the current candidates of every need instead (incremental re-scoring included; ``run`` may
    then be None)."""
    qs = MatchCandidate.objects.current() if current else MatchCandidate.objects.filter(run=run)
    qs = qs.filter(rank__lte=top).select_related("need", "offer").order_by("need_id", "rank")
    with translation.override(language):
        for c in qs.iterator(chunk_size=2000):
            yield json.dumps(
                {
                    "need": c.need.external_id,
                    "offer": c.offer.external_id,
                    "rank": c.rank,
                    "score": round(c.score, 4),
                    "assigned": c.assigned,
                    "south_south": c.south_south,
                    "reasons": render_reasons(c.reasons),
                    "components": {k: c.components[k] for k in COMPONENTS if c.components.get(k) is not None},
                },
                ensure_ascii=False,
            )
