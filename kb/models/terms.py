"""Entry terms: each entry's text as analysis sees it, computed once after it is written.

One row per entry (``entry_kind``, ``entry_id``): the analysed terms with their weighted counts
(the title counts ``kb.search.terms.TITLE_WEIGHT`` times) as ``[term, count]`` pairs in the order
of the text, for needs a word of the text per term
(reasons quote the need's own words), and the concepts the text mentions. Matching runs read these
rows instead of analysing every text again (``kb.search.terms``).

``version`` names the analysis and the concept vocabulary the row was computed with;
``content_hash`` is the digest of both and of the analysed text (language, title, description,
keywords), so a change that leaves the text alone (a status change, new tags) only moves
``row_version``. A row is *stale* when its version is not the current one or its row version is
behind the entry's; the periodic reconcile recomputes stale and missing rows and drops rows of
deleted entries, and a run computes (and stores) any row it finds stale, so it is never wrong.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryTerms(models.Model):
    id = models.BigAutoField(primary_key=True)
    entry_kind = models.CharField(_("kind"), max_length=5)
    entry_id = models.BigIntegerField(_("entry id"))
    version = models.CharField(_("analysis version"), max_length=60)
    row_version = models.PositiveBigIntegerField(_("entry row version"))
    content_hash = models.CharField(_("digest of the analysed text"), max_length=40)
    counts = models.JSONField(_("analysed terms and their weighted counts"), default=list)
    surface = models.JSONField(_("a word of the text for each term"), default=dict)
    concepts = models.JSONField(_("concepts mentioned in the text"), default=list)
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        verbose_name = _("entry terms")
        verbose_name_plural = _("entry terms")
        constraints = [models.UniqueConstraint(fields=["entry_kind", "entry_id"], name="kb_entryterms_unique_entry")]

    def __str__(self) -> str:
        return f"{self.entry_kind}:{self.entry_id} ({self.version})"
