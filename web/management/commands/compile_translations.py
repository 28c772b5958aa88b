"""Compile the message catalogs (``locale/*/LC_MESSAGES/django.po``) into ``.mo`` files with Babel.

Unlike ``compilemessages`` this needs no GNU gettext on the machine, so the one-command start
works anywhere Python does. Fuzzy entries are skipped, as gettext does.
"""

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po into .mo files (Babel; no gettext tools needed)."

    def handle(self, *args: Any, **options: Any) -> None:
        compiled = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                with open(po_path, "rb") as fh:
                    catalog = read_po(fh, locale=po_path.parts[-3])
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                with open(mo_path, "wb") as fh:
                    write_mo(fh, catalog, use_fuzzy=False)
                compiled += 1
        if options["verbosity"]:
            self.stdout.write(f"{compiled} catalog(s) compiled.")
