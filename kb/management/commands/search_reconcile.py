from django.core.management.base import BaseCommand, CommandError

from kb.search import SearchUnavailable
from kb.search.sync import search_reconcile


class Command(BaseCommand):
    help = "Bring the search index up to date now (what the periodic job does)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--full", action="store_true", help="also compare every entry's version")

    def handle(self, *args, **options) -> None:
        try:
            result = search_reconcile(full=options["full"])
        except SearchUnavailable as exc:
            raise CommandError(f"search is unavailable: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"reconciled: {result}"))
