"""The search outbox: which entries the search index must look at again.

Rows are written by database triggers (``kb/db_triggers.py``) in the same transaction as the change
itself, so a committed change always leaves a row, whatever made it (a service, the admin,
``QuerySet.update()``, raw SQL). The index task and the periodic reconcile consume rows; a row is
deleted only after the entry's current state reached the index.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class SearchOutbox(models.Model):
    id = models.BigAutoField(primary_key=True)
    entry_kind = models.CharField(_("kind"), max_length=5)
    entry_id = models.BigIntegerField(_("entry id"))
    # Filled by the database (the triggers insert rows without naming this column).
    created_at = models.DateTimeField(_("queued"), db_default=Now())

    class Meta:
        verbose_name = _("search outbox row")
        verbose_name_plural = _("search outbox")
        indexes = [models.Index(fields=["entry_kind", "entry_id"], name="kb_outbox_entry")]

    def __str__(self) -> str:
        return f"{self.entry_kind}:{self.entry_id}"


class SearchSyncState(models.Model):
    """Bookkeeping of the reconcile job, one row per index kind."""

    entry_kind = models.CharField(_("kind"), max_length=5, primary_key=True)
    last_reconciled_at = models.DateTimeField(_("last successful reconcile"), null=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True)

    class Meta:
        verbose_name = _("search sync state")
        verbose_name_plural = _("search sync states")

    def __str__(self) -> str:
        return self.entry_kind
