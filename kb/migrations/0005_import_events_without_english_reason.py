"""Import events no longer carry the English reason "bulk import" (their action, translated, says
it); clear it on the events already recorded so no language's history shows it."""

from django.db import migrations


def clear(apps, schema_editor):
    apps.get_model("kb", "EntryEvent").objects.filter(action="imported", reason="bulk import").update(reason="")


class Migration(migrations.Migration):
    dependencies = [("kb", "0004_description_limits")]

    operations = [migrations.RunPython(clear, migrations.RunPython.noop)]
