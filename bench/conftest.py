"""Benches driven by pytest (``bench/security_bench.py``) use the test suite's fixtures: the real
services, the reference data and the callers of ``tests/conftest.py``."""

from tests.conftest import (  # noqa: F401 - fixtures are found by name
    _broker_breaker_closed,
    _isolated_search,
    _language_reset,
    anonymous_client,
    bra_provider,
    civ,
    civ_colleague,
    django_db_setup,
    elasticsearch_url,
    kor,
    moderator,
    outsider,
    search_backend,
)
