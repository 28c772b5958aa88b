"""Searches a signed-in user keeps, and the alerts they have raised.

Invariants:
- A saved search is its owner's alone: a query text, the kind searched (empty: both) and facet filters (the
  facets of ``kb.search.documents.FACET_FIELDS``), validated like a search
  (``kb.services.saved_searches``).
- A ``SavedSearchAlert`` records that an entry matched a saved search; one row per (saved search,
  entry) at most (a unique constraint), so an owner hears of an entry once, however often it is
  indexed again. Alerts are raised after indexing (``kb.search.alerts``), for published entries
  published after the search was saved.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kb.models.entries import EntryKind


class SavedSearch(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    text = models.CharField(_("search text"), max_length=500, blank=True)
    kind = models.CharField(
        _("kind of entry"), max_length=5, choices=EntryKind.choices, blank=True, help_text=_("Empty: offers and needs.")
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("saved"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("saved search")
        verbose_name_plural = _("saved searches")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                name="kb_saved_search_name_unique",
                violation_error_message=_("You already have a saved search with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.kind,) if self.kind else (EntryKind.OFFER.value, EntryKind.NEED.value)


class SavedSearchAlert(models.Model):
    saved_search = models.ForeignKey(
        SavedSearch, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("saved search")
    )
    entry_kind = models.CharField(_("kind"), max_length=5, choices=EntryKind.choices)
    entry_id = models.PositiveBigIntegerField(_("entry id"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved-search alert")
        verbose_name_plural = _("saved-search alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["saved_search", "entry_kind", "entry_id"], name="kb_saved_search_alert_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.saved_search_id}: {self.entry_kind} {self.entry_id}"
