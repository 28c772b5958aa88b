"""Shared fixtures.

The database is the real PostgreSQL the test command starts (``DATABASE_URL``). Reference data is
loaded once per session. ``search_backend`` gives each test its own index prefix on the configured
backend and removes its indices afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import moderators_group_sync, user_make_moderator
from kb.models import Country, Language, Organisation
from kb.search import build_backend, reset_backend
from kb.services.reference import reference_data_load
from tests.factories import MembershipFactory, NeedFactory, OfferFactory, OrganisationFactory, UserFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.db import connection

    with django_db_blocker.unblock():
        reference_data_load()
        moderators_group_sync()
        # Transactional tests (``django_db(transaction=True, serialized_rollback=True)``) flush
        # the database afterwards; pytest-django runs them last and restores this snapshot,
        # reference data included, before each of them.
        connection._test_serialized_contents = connection.creation.serialize_db_to_string()


@pytest.fixture(autouse=True)
def _isolated_search(tmp_path, settings):
    """Never touch a developer's index: embedded indices live in a per-test folder."""
    settings.SEARCH_EMBEDDED_PATH = tmp_path / "search"
    settings.SEARCH_INDEX_PREFIX = f"ta-test-{uuid.uuid4().hex[:10]}"
    # Attachments too: each test stores its files in its own folder.
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments"), "base_url": None},
        },
    }
    reset_backend(None)
    yield
    reset_backend(None)


@pytest.fixture(autouse=True)
def _broker_breaker_closed():
    """A test that made publishing or searching fail must not leave the next tests failing fast."""
    from core.api.throttling import cache_breaker
    from core.tasks import breaker_reset
    from kb.search.backends.elasticsearch import search_breaker

    for reset in (breaker_reset, search_breaker.reset, cache_breaker.reset):
        reset()
    yield
    for reset in (breaker_reset, search_breaker.reset, cache_breaker.reset):
        reset()


def make_search_backend(name: str):
    backend = build_backend(name, prefix=f"ta-test-{uuid.uuid4().hex[:10]}")
    backend.ensure_indices()
    return backend


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def search_backend(request, settings):
    """Each backend in turn, installed as the process-wide one; indices removed afterwards."""
    if request.param == "elasticsearch":
        assert settings.ELASTICSEARCH_URL, "ELASTICSEARCH_URL is not set: run the tests with bin/test"
    backend = make_search_backend(request.param)
    reset_backend(backend)
    yield backend
    backend.drop_all()
    reset_backend(None)


@dataclass
class Actor:
    """A user with their organisation, for permission tests."""

    user: User
    organisation: Organisation | None

    @property
    def client(self) -> APIClient:
        client = APIClient()
        client.force_authenticate(self.user)
        return client


def _focal_point(iso3: str, *, provider: bool = True, recipient: bool = True) -> Actor:
    organisation = OrganisationFactory(country=Country.objects.get(iso3=iso3))
    membership = MembershipFactory(
        organisation=organisation, is_provider_focal_point=provider, is_recipient_focal_point=recipient
    )
    return Actor(membership.user, organisation)


def published_sides(recipient: Actor, *, capacity: int = 1):
    """Both sides of an engagement: a published need (in French) of ``recipient``'s organisation and
    a published offer of a Rwandan provider-only focal point. Returns (recipient, provider, need, offer)."""
    provider = _focal_point("RWA", provider=True, recipient=False)
    need = NeedFactory(
        organisation=recipient.organisation,
        country=recipient.organisation.country,
        language=Language.objects.get(code="fr"),
        published=True,
    )
    offer = OfferFactory(organisation=provider.organisation, published=True, capacity=capacity)
    return recipient, provider, need, offer


@pytest.fixture
def civ(db) -> Actor:
    """A focal point (both roles) of an agency of Côte d'Ivoire."""
    return _focal_point("CIV")


@pytest.fixture
def civ_colleague(civ) -> Actor:
    """Another focal point of the same organisation."""
    membership = MembershipFactory(organisation=civ.organisation)
    return Actor(membership.user, civ.organisation)


@pytest.fixture
def kor(db) -> Actor:
    """A focal point (both roles) of an agency of the Republic of Korea: another State."""
    return _focal_point("KOR")


@pytest.fixture
def bra_provider(db) -> Actor:
    """A provider-only focal point in Brazil."""
    return _focal_point("BRA", provider=True, recipient=False)


@pytest.fixture
def moderator(db) -> Actor:
    user = UserFactory()
    user_make_moderator(user=user)
    return Actor(User.objects.get(pk=user.pk), None)


@pytest.fixture
def outsider(db) -> Actor:
    """Signed in, but member of no organisation."""
    return Actor(UserFactory(), None)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def elasticsearch_url(settings) -> str:
    assert settings.ELASTICSEARCH_URL, "ELASTICSEARCH_URL is not set: run the tests with bin/test"
    return settings.ELASTICSEARCH_URL


__all__ = ["Actor", "make_search_backend", "settings"]


@pytest.fixture(autouse=True)
def _language_reset():
    """A request through the test client leaves its language active in the thread (LocaleMiddleware
    does not reset it): an Arabic page in one test made the next test's reasons Arabic."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
