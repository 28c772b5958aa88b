import sys

from django.core.management.base import BaseCommand

from kb.services.importing import entries_export


class Command(BaseCommand):
    help = "Export offers and needs as an interchange file (JSON Lines, see INTERCHANGE.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="output path, or - for standard output")
        parser.add_argument(
            "--status",
            action="append",
            choices=["draft", "submitted", "returned", "published"],
            help="only entries in this status (repeatable); default: all but archived",
        )

    def handle(self, *args, **options) -> None:
        path = options["file"]
        if path == "-":
            count = entries_export(out=sys.stdout, statuses=options["status"])
        else:
            with open(path, "w", encoding="utf-8", newline="\n") as out:
                count = entries_export(out=out, statuses=options["status"])
            self.stdout.write(self.style.SUCCESS(f"{count} entries written to {path}."))
        if path == "-":
            self.stderr.write(f"{count} entries written.")
