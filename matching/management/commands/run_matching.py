from django.core.management.base import BaseCommand, CommandError

from kb.search import SearchUnavailable
from matching.models import RunTrigger
from matching.services.runs import MatchRunAlreadyActive, match_run_execute, match_run_start


class Command(BaseCommand):
    help = "Start a full matching run. With --sync, run it in this process and wait for the result."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--sync", action="store_true", help="run here and wait, instead of queueing it for a worker"
        )

    def handle(self, *args, **options) -> None:
        try:
            if options["sync"]:
                run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
                match_run_execute(run_id=run.pk)  # its outcome is read back below
            else:
                run = match_run_start(trigger=RunTrigger.COMMAND)
        except MatchRunAlreadyActive as exc:
            raise CommandError(str(exc)) from exc
        except SearchUnavailable as exc:
            raise CommandError(f"search is unavailable: {exc}") from exc
        if not options["sync"]:
            self.stdout.write(self.style.SUCCESS(f"Matching run #{run.pk} queued."))
            return
        run.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Matching run #{run.pk} {run.status}: {run.needs_total} needs, {run.candidates_count} candidates, "
                f"{run.assigned_count} pairs assigned, coverage {run.coverage:.0%}, "
                f"South-South share {run.south_south_share:.0%}; timings {run.timings}"
            )
        )
