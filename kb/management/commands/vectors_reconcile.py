from django.core.management.base import BaseCommand

from kb.search import terms
from kb.vectors.encoders import get_encoder
from kb.vectors.sync import entry_vectors_reconcile, stale_entry_ids


class Command(BaseCommand):
    help = (
        "Compute the entry terms and vectors that are missing or stale (after a lost task, an encoder "
        "outage, a change of MATCHING_ENCODER, of the analysis or of the concept vocabulary), in "
        "batches; what the periodic job does. --status only counts them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--status", action="store_true", help="count stale vectors per kind; compute nothing")
        parser.add_argument("--limit", type=int, default=None, help="at most this many entries per kind")

    def handle(self, *args, **options) -> None:
        encoder = get_encoder()
        if options["status"]:
            for kind in ("offer", "need"):
                self.stdout.write(
                    f"{kind}: {len(terms.stale_entry_ids(kind))} terms stale or missing, "
                    f"{len(stale_entry_ids(kind, encoder))} vectors stale or missing ({encoder.version})"
                )
            return
        analysed = terms.entry_terms_reconcile(limit_per_kind=options["limit"])
        self.stdout.write(self.style.SUCCESS("terms: " + ", ".join(f"{k} {n}" for k, n in analysed.items())))
        done = entry_vectors_reconcile(limit_per_kind=options["limit"])
        self.stdout.write(
            self.style.SUCCESS(f"encoder {encoder.version}: " + ", ".join(f"{k} {n}" for k, n in done.items()))
        )
