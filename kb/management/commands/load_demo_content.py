from django.core.management.base import BaseCommand

from kb.services.demo import credentials_file, demo_content_load


class Command(BaseCommand):
    help = "Load the sample knowledge base and the demo accounts (idempotent); print how to sign in."

    def handle(self, *args, **options) -> None:
        report, created = demo_content_load()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo entries: {report.created} created, {report.updated} updated, {report.unchanged} unchanged."
            )
        )
        if created:
            self.stdout.write(f"Demo accounts created: {', '.join(created)}")
        path = credentials_file()
        if path.exists():
            self.stdout.write(f"Sign-in accounts (e-mail, generated password), from {path}:")
            for line in path.read_text(encoding="utf-8").splitlines():
                self.stdout.write("  " + line.replace("\t", "   "))
