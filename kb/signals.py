"""What the knowledge base tells the rest of the product about its entries (Django signals).

Each is sent with ``sender`` the entry kind (``"offer"`` or ``"need"``) and ``ids``:

- ``entries_changing``: entries are being created, changed, moved or deleted; sent inside the
  writing transaction, so what a receiver writes commits or rolls back with the change (matching
  records its re-scoring requests there: ``matching/receivers.py``).
- ``entries_committed``: entries were created, changed, moved or deleted; sent once their
  transaction has committed (``kb/services/effects.py``), once per kind for a batch. The knowledge
  base's receivers (``kb/tasks.py``) queue their indexing and their text vectors.
- ``entry_vectors_changed``: these entries' text vectors were recomputed (``kb/vectors/sync.py``);
  the index carries the vectors, so ``kb/tasks.py`` queues their re-indexing.
- ``entry_features_ready``: the changes and their vectors are current — what another app reacts
  to. Matching connects its re-scoring to it (``matching/apps.py``, ``matching/receivers.py``), so
  the knowledge base never imports matching.
- ``entry_moderated``: a person moved an entry through moderation (``action`` one of ``submit``,
  ``publish``, ``return``, ``unpublish``; with ``entry``, ``actor`` and ``reason``); sent inside the
  writing transaction, so what a receiver writes (matching's notifications: the authors, or the
  moderators for a submission) commits or rolls back with the transition. Imports send none.
- ``saved_searches_matched``: newly published entries matched saved searches (``alerts``, new
  ``SavedSearchAlert`` rows, each once per saved search and entry: ``kb/search/alerts.py``); sent
  inside the transaction that records them, after indexing. Matching notifies the owners.
"""

from __future__ import annotations

from django.dispatch import Signal

entries_changing = Signal()
entries_committed = Signal()
entry_vectors_changed = Signal()
entry_features_ready = Signal()
entry_moderated = Signal()
saved_searches_matched = Signal()
