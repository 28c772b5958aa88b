from django.core.management.base import BaseCommand

from accounts.services import moderators_group_sync
from kb.services.reference import reference_data_load


class Command(BaseCommand):
    help = (
        "Load States, M49 regions, languages, UNCAC chapters and articles, TA types, thematic "
        "areas and modalities. Idempotent."
    )

    def handle(self, *args, **options) -> None:
        report = reference_data_load()
        moderators_group_sync()
        self.stdout.write(self.style.SUCCESS(f"Reference data loaded. {report.summary()}"))
