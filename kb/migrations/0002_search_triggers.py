from django.db import migrations

from kb import db_triggers


class Migration(migrations.Migration):
    """Install the triggers that keep row versions and the search outbox (see kb/db_triggers.py)."""

    dependencies = [("kb", "0001_initial")]

    operations = [
        migrations.RunPython(db_triggers.install, db_triggers.uninstall),
    ]
