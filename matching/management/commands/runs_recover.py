"""``manage.py runs_recover``: hand back matching runs a dead worker or a broker outage left behind.

Beat does this every minute in the production shape (``matching.tasks.runs_recover_task``). With
``--no-worker`` (embedded start, where no other process can be executing a run) every active run is
taken over at once instead of after its lease expires.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from matching.models import ACTIVE_RUN_STATUSES, MatchRun
from matching.services.runs import runs_recover


class Command(BaseCommand):
    help = "Queue again matching runs whose worker died or whose message was lost."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="no worker is running (embedded start): take over every active run now",
        )

    def handle(self, *args, **options) -> None:
        if options["no_worker"]:
            long_ago = timezone.now() - timedelta(days=1)
            MatchRun.objects.filter(status__in=ACTIVE_RUN_STATUSES).update(lease_expires_at=long_ago, enqueued_at=None)
        counts = runs_recover()
        self.stdout.write(f"{counts['full']} full and {counts['incremental']} incremental runs handed back")
