"""Search backends: ``elasticsearch`` (a real cluster) and ``embedded`` (Tantivy, no server).

Both implement ``SearchBackend`` and pass the same contract tests (``tests/kb/search/``).
"""
