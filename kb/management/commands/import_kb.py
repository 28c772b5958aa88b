import sys

from django.core.management.base import BaseCommand, CommandError

from kb.services.importing import entries_import_file


class Command(BaseCommand):
    help = (
        "Import offers and needs from an interchange file (JSON Lines, see INTERCHANGE.md). "
        "The whole file is validated first; if any line is invalid nothing is written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="path to a .jsonl file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="moderator import: allow status 'published' and publish lines without a status",
        )

    def handle(self, *args, **options) -> None:
        path = options["file"]
        if path == "-":
            report = entries_import_file(
                stream=sys.stdin.buffer, publish=options["publish"], dry_run=options["dry_run"]
            )
        else:
            try:
                stream = open(path, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
            with stream:
                report = entries_import_file(stream=stream, publish=options["publish"], dry_run=options["dry_run"])
        if not report.ok:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(report.errors)} problem(s) found; nothing was imported.")
        verb = "would be" if report.dry_run else "were"
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged "
                f"({verb} written{'; dry run' if report.dry_run else ''})."
            )
        )
