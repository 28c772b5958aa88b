from django.core.management.base import BaseCommand

from matching.evaluation.history import history_judgments, judged_set_write


class Command(BaseCommand):
    help = (
        "Write the knowledge base's own matching history as a judged set (needs.jsonl, offers.jsonl, "
        "judgments.jsonl): accepted, completed (graded by rating) and declined/dismissed proposals. "
        "Feed it to evaluate_matching and fit_matching."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", help="folder to write (created if missing)")

    def handle(self, *args, **options) -> None:
        judged = history_judgments()
        judged_set_write(judged, options["directory"])
        negatives = sum(len(j.negative_offer_ids) for j in judged.judgments.values())
        positives = sum(len(j.offer_ids) for j in judged.judgments.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(judged.judgments)} needs with decisions: {positives} relevant pairs, {negatives} declined or "
                f"dismissed; written to {options['directory']}"
            )
        )
