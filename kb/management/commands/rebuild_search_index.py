from django.core.management.base import BaseCommand, CommandError

from kb.search import SearchUnavailable
from kb.search.sync import KINDS, search_rebuild


class Command(BaseCommand):
    help = (
        "Build fresh search indices from the database and swap them in with no search downtime; "
        "writes made during the rebuild are not lost."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kind", choices=KINDS, action="append", help="only this kind (repeatable)")

    def handle(self, *args, **options) -> None:
        for kind in options["kind"] or KINDS:
            try:
                report = search_rebuild(kind=kind)
            except SearchUnavailable as exc:
                raise CommandError(f"search is unavailable: {exc}") from exc
            self.stdout.write(
                self.style.SUCCESS(
                    f"{kind}s: {report.documents} documents into {report.new_index} "
                    f"(replaced {report.previous_index or 'nothing'}; {report.caught_up} caught up)."
                )
            )
