"""The API keeps its OpenAPI contract (schemathesis): no server error, no response the schema does
not describe, whoever calls.

Every generated request is sent once per caller - focal points of two States, a moderator and an
anonymous caller - through the WSGI application (no server). Each caller has its own throttle
bucket, and the bounded number of examples keeps every caller under the write rate. The seed is
fixed, so a failure reproduces. Run it alone with ``bin/test -m contract``.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, seed, settings
from knox.models import AuthToken
from schemathesis.specs.openapi import checks

from kb.search import reset_backend
from tests.conftest import make_search_backend
from tests.factories import NeedFactory, OfferFactory

pytestmark = [pytest.mark.contract, pytest.mark.django_db]

#: Checks about what the server accepts, not what it answers: a lookup of an unknown State is a valid
#: request by the schema that the server rightly refuses, and a repeated query parameter is read
#: as its last value.
NOT_CONTRACT = [checks.positive_data_acceptance, checks.negative_data_rejection]

#: Examples generated per operation (each sent as every caller).
EXAMPLES = 4


@pytest.fixture
def callers(civ, kor, moderator) -> dict[str, dict[str, str]]:
    headers = {"anonymous": {}}
    for name, actor in (("civ", civ), ("kor", kor), ("moderator", moderator)):
        _, key = AuthToken.objects.create(actor.user)
        headers[name] = {"Authorization": f"Token {key}"}
    return headers


@pytest.fixture(autouse=True)
def _connection_kept():
    """Requests go through the WSGI handler, which closes the database connection at each request's
    end; the test's transaction lives on that connection. Django's test client does the same."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _entries(civ, kor, search_backend_embedded):
    """Drafts and published entries of both States, so ids and lists have something to find."""
    OfferFactory(organisation=civ.organisation)
    OfferFactory(organisation=kor.organisation, published=True)
    NeedFactory(organisation=kor.organisation)
    NeedFactory(organisation=civ.organisation, published=True)


@pytest.fixture
def search_backend_embedded():
    backend = make_search_backend("embedded")
    reset_backend(backend)
    yield backend
    reset_backend(None)


def _load_schema():
    """The schema the app serves, generated in-process (the same generator as /api/schema/)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(generated, cls=DjangoJSONEncoder)))
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@schema.parametrize()
@seed(20261204)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_its_contract(case, callers):
    for headers in callers.values():
        case.call_and_validate(headers=headers, excluded_checks=NOT_CONTRACT)
