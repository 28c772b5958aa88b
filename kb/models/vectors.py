"""Entry vectors: each entry's text as the configured encoder sees it, computed once.

One row per entry (``entry_kind``, ``entry_id``): the vector of its whole text (title, description,
keywords) and one per sentence (the reasons quote the sentence of an offer closest to a need),
with the encoder's name and version and the entry's ``row_version`` they were computed from.
``content_hash`` is the digest of the encoded text, so a change that leaves the text alone (a
status change) only moves ``row_version`` and computes nothing.

A row is *stale* when its encoder version is not the configured one or its row version is behind
the entry's; the periodic reconcile (``kb.vectors.sync``) recomputes stale and missing rows and
drops rows of deleted entries. Vectors are float32 (whole text) and float16 (sentences) bytes.
"""

from __future__ import annotations

import numpy as np
from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryVector(models.Model):
    id = models.BigAutoField(primary_key=True)
    entry_kind = models.CharField(_("kind"), max_length=5)
    entry_id = models.BigIntegerField(_("entry id"))
    encoder = models.CharField(_("encoder"), max_length=20)
    encoder_version = models.CharField(_("encoder version"), max_length=80)
    row_version = models.PositiveBigIntegerField(_("entry row version"))
    content_hash = models.CharField(_("digest of the encoded text"), max_length=40)
    dim = models.PositiveSmallIntegerField(_("dimensions"))
    vector = models.BinaryField(_("text vector (float32)"))
    sentences = models.JSONField(_("sentences"), default=list)
    sentence_vectors = models.BinaryField(_("sentence vectors (float16)"))
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        verbose_name = _("entry vector")
        verbose_name_plural = _("entry vectors")
        constraints = [models.UniqueConstraint(fields=["entry_kind", "entry_id"], name="kb_entryvector_unique_entry")]

    def __str__(self) -> str:
        return f"{self.entry_kind}:{self.entry_id} ({self.encoder_version})"

    def as_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype=np.float32)

    def sentence_array(self) -> np.ndarray:
        return sentence_matrix(self.sentence_vectors, self.dim)


def sentence_matrix(data: bytes | memoryview, dim: int, dtype=np.float32) -> np.ndarray:
    if not dim:
        return np.zeros((0, 0), dtype)
    return np.frombuffer(bytes(data), dtype=np.float16).reshape(-1, dim).astype(dtype)
