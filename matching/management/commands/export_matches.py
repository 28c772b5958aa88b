import sys

from django.core.management.base import BaseCommand, CommandError

from matching.exports import match_lines
from matching.selectors import latest_completed_full_run


class Command(BaseCommand):
    help = "Export the candidates of the latest completed matching run (JSON Lines, see INTERCHANGE.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="output path, or - for standard output")
        parser.add_argument("--top", type=int, default=10, help="candidates per need (default 10)")
        parser.add_argument(
            "--current",
            action="store_true",
            help="export every need's current candidates (incremental re-scoring included)",
        )
        parser.add_argument("--language", default="en", help="language of the written reasons (default en)")

    def handle(self, *args, **options) -> None:
        if options["top"] < 1:
            raise CommandError("--top must be at least 1")
        run = latest_completed_full_run()
        if run is None and not options["current"]:
            raise CommandError("no completed matching run yet: run `manage.py run_matching --sync` first")
        lines = match_lines(run=run, top=options["top"], current=options["current"], language=options["language"])
        count = 0
        if options["file"] == "-":
            for line in lines:
                sys.stdout.write(line + "\n")
                count += 1
            self.stderr.write(f"{count} candidates written.")
            return
        with open(options["file"], "w", encoding="utf-8", newline="\n") as out:
            for line in lines:
                out.write(line + "\n")
                count += 1
        self.stdout.write(
            self.style.SUCCESS(f"{count} candidates of run #{run.pk if run else '-'} written to {options['file']}.")
        )
