"""The API keeps its contract: schemathesis generates requests from the OpenAPI schema for every
operation, as each kind of caller the attack used (two States' focal points, a moderator, a user
with no organisation, anonymous), and every response must be no server error and must match the
schema (status code, content type, headers, body).

Fixed seed (``derandomize``) and a bounded number of examples per operation, so a run is
reproducible and takes a couple of minutes; several users, so no one exceeds the write throttle.
The same script serves for re-measuring a running instance (``bench/api_contract.py``).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import token_create
from kb.services.moderation import entry_transition
from tests.kb.test_apis_entries import make

pytestmark = [pytest.mark.django_db, pytest.mark.contract]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def knowledge_base(civ, kor, moderator):
    """Entries of two States in every state a caller may meet."""
    for actor in (civ, kor):
        for kind in ("offer", "need"):
            make(kind, actor)  # a draft
            published = make(kind, actor, title=f"Published {kind} of {actor.organisation.country.iso3}")
            entry_transition(actor=actor.user, entry=published, action="submit")
            entry_transition(actor=moderator.user, entry=published, action="publish")


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.mark.parametrize("role", ["civ", "kor", "moderator", "outsider", "anonymous"])
def test_every_operation_answers_within_its_contract(role, request, knowledge_base):
    from config.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    headers = {}
    if role != "anonymous":
        _token, secret = token_create(user=request.getfixturevalue(role).user)
        headers = {"Authorization": f"Token {secret}"}
    requests = 0
    failures: dict[str, str] = {}

    for operation in _operations(schema):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            nonlocal requests
            response = case.call(headers=headers)
            requests += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as exc:  # a FailureGroup: keep the first per operation, go on
                failures.setdefault(operation.label, f"{response.status_code}: {str(exc)[:1500]}")

        exercise()

    assert requests > 100
    assert not failures, "\n\n".join(f"{label}\n{detail}" for label, detail in sorted(failures.items()))
