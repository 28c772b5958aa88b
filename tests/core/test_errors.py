"""A ``DomainError`` is mapped once for the API (status, code, detail) and once for web pages
(a message); every conflict code is documented in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.api.errors import CONFLICT_CODES
from core.errors import DomainError
from core.web import error_text, show_error

pytestmark = pytest.mark.django_db


class Refused(DomainError):
    code = "refused_for_a_test"


class Away(DomainError):
    code = "away_for_a_test"
    status_code = 503

    @property
    def user_message(self) -> str:
        return "Try again later."


def _api_answer(error: Exception):
    class View(APIView):
        permission_classes: list = []

        def get(self, request):
            raise error

    return View.as_view()(APIRequestFactory().get("/"))


def test_the_api_answers_a_domain_error_with_its_status_code_and_message():
    response = _api_answer(Refused("Not now."))
    assert response.status_code == 409
    assert response.data == {
        "type": "client_error",
        "errors": [{"code": "refused_for_a_test", "detail": "Not now.", "attr": None}],
    }


def test_the_api_shows_the_user_message_not_the_technical_one():
    response = _api_answer(Away("connection refused on 10.0.0.7:9200"))
    assert response.status_code == 503
    assert response.data["type"] == "server_error"
    assert response.data["errors"][0] == {"code": "away_for_a_test", "detail": "Try again later.", "attr": None}


def test_a_web_page_shows_the_same_message():
    request = RequestFactory().get("/")
    request.session = {}
    from django.contrib.messages.storage.fallback import FallbackStorage

    request._messages = FallbackStorage(request)
    show_error(request, Away("connection refused"))
    show_error(request, ValidationError({"reason": ["Give a reason."], "title": ["Too long."]}))
    assert [str(m) for m in get_messages(request)] == ["Try again later.", "Give a reason. Too long."]
    assert error_text(Refused("Not now.")) == "Not now."


def _product_errors(cls=DomainError):
    for sub in cls.__subclasses__():
        if not sub.__module__.startswith("tests."):
            yield sub
        yield from _product_errors(sub)


def test_every_conflict_code_of_the_product_is_documented(outsider):
    import core.state_machine  # noqa: F401 - subclasses are found by being imported
    import kb.exceptions
    import kb.search  # noqa: F401
    import matching.services.runs  # noqa: F401

    errors = list(_product_errors())
    assert {e.code for e in errors if e.status_code == 409} == set(CONFLICT_CODES)
    assert {e.code for e in errors if e.status_code != 409} == {"search_unavailable"}
    schema = outsider.client.get(reverse("api-schema")).content.decode()
    for code in CONFLICT_CODES:
        assert code in schema
