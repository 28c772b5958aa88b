"""Search benchmark: bulk indexing throughput and faceted search latency, both backends.

    bin/bench search                 # 10k and 100k entries (half offers, half needs)
    bin/bench search --sizes 2000    # a quick run

Prints numbers; it is not a test. Indexing is measured twice: end to end (``search_rebuild``:
read the database, analyse text in Python, write the index) and the backend's bulk write alone
on documents built beforehand. Latency is over faceted queries (text + a filter + all facet
counts, 20 hits) with realistic query words in the six UN languages.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["embedded", "elasticsearch"])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    django.setup()
    from django.conf import settings

    from bench.synthetic import generate, wipe
    from kb.models import ThematicArea
    from kb.search import build_backend
    from kb.search.documents import build_documents, indexable_queryset
    from kb.search.query import SearchRequest
    from kb.search.sync import KINDS, search_rebuild

    rng = random.Random(11)
    terms = [t for area in ThematicArea.objects.all() for lang_terms in area.terms.values() for t in lang_terms]
    filters = [
        {"region": ["Africa"]},
        {"article": ["8"]},
        {"language": ["fr", "es"]},
        {"south_south": ["yes"]},
        {"ta_type": ["capacity_building"]},
        {"regional_group": ["grulac"]},
    ]
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; cores: {os.cpu_count()}")
    for size in args.sizes:
        wipe()
        started = time.perf_counter()
        generate(offers=size // 2, needs=size - size // 2)
        print(f"\n== {size:,} entries (generated in {time.perf_counter() - started:.1f} s) ==")
        sample_ids = list(indexable_queryset("offer").values_list("id", flat=True)[:5000])
        prebuilt, _ = build_documents("offer", sample_ids)
        for name in args.backends:
            if name == "elasticsearch" and not settings.ELASTICSEARCH_URL:
                print(f"  {name}: skipped (ELASTICSEARCH_URL not set)")
                continue
            backend = build_backend(name, prefix=f"ta-bench-{uuid.uuid4().hex[:8]}")
            backend.ensure_indices()
            try:
                started = time.perf_counter()
                documents = sum(search_rebuild(kind=kind, backend=backend).documents for kind in KINDS)
                rebuild_seconds = time.perf_counter() - started

                raw_index = backend.create_index("offer")
                started = time.perf_counter()
                for start in range(0, len(prebuilt), 500):
                    with backend.write_session("offer", raw_index):
                        backend.write("offer", prebuilt[start : start + 500], index=raw_index)
                raw_seconds = time.perf_counter() - started
                backend.drop_index("offer", raw_index)
                if hasattr(backend, "refresh"):
                    backend.refresh()

                latencies = []
                for i in range(args.queries + 20):
                    request = SearchRequest(
                        kinds=("offer", "need"),
                        text=rng.choice(terms),
                        filters=rng.choice(filters),
                        visible_to_owners=(),
                        limit=20,
                    )
                    t0 = time.perf_counter()
                    backend.search(request)
                    if i >= 20:  # warm-up excluded
                        latencies.append((time.perf_counter() - t0) * 1000)
                latencies.sort()
                p95 = latencies[int(len(latencies) * 0.95) - 1]
                print(
                    f"  {name:<13} indexing end-to-end {documents / rebuild_seconds:8,.0f} docs/s "
                    f"({documents:,} in {rebuild_seconds:.1f} s) | bulk write only "
                    f"{len(prebuilt) / raw_seconds:8,.0f} docs/s | faceted search "
                    f"median {statistics.median(latencies):6.1f} ms, p95 {p95:6.1f} ms ({len(latencies)} queries)"
                )
            finally:
                backend.drop_all()
    wipe()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
