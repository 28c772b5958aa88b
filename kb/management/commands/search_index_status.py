from django.core.management.base import BaseCommand, CommandError

from kb.search import get_backend
from kb.search.sync import search_index_status


class Command(BaseCommand):
    help = "Report, per index, entries in the database vs documents in the search index."

    def handle(self, *args, **options) -> None:
        backend = get_backend()
        rows = search_index_status(backend=backend)
        self.stdout.write(f"backend: {backend.name} (prefix {backend.prefix})")
        self.stdout.write(f"{'index':<8}{'database':>10}{'index':>10}{'pending':>10}  last reconcile")
        for row in rows:
            index = "?" if row.index is None else str(row.index)
            self.stdout.write(
                f"{row.kind + 's':<8}{row.database:>10}{index:>10}{row.outbox_pending:>10}  "
                f"{row.last_reconciled_at or 'never'}{'  ERROR: ' + row.error if row.error else ''}"
            )
        if any(row.index is None for row in rows):
            raise CommandError("the search backend is unavailable")
        if not all(row.in_sync for row in rows):
            self.stdout.write(self.style.WARNING("not in sync yet: run `manage.py search_reconcile`"))
        else:
            self.stdout.write(self.style.SUCCESS("in sync"))
