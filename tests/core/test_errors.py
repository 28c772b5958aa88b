"""A ``DomainError`` is mapped once for the API (status, code, detail) and once for web pages
(a message); every conflict code is documented in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.api.errors import CONFLICT_CODES
from core.errors import DomainError
from core.web import error_text, show_error
from kb.content import entry_content
from kb.models import EntryStatus, ExpertiseOffer
from kb.services.entries import offer_create
from kb.services.moderation import entry_transition

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
    import matching.services.engagements
    import matching.services.runs  # noqa: F401

    errors = list(_product_errors())
    assert {e.code for e in errors if e.status_code == 409} == set(CONFLICT_CODES)
    assert {e.code for e in errors if e.status_code != 409} == {"search_unavailable"}
    schema = outsider.client.get(reverse("api-schema")).content.decode()
    for code in CONFLICT_CODES:
        assert code in schema


# --- the product's own errors, through the real paths -----------------------------------------------


def _page_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_an_illegal_transition_reads_the_same_in_the_api_and_on_the_page(civ, moderator):
    """A moderator publishing a draft: the API's 409 detail is the message the web page shows."""

    draft = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {"title": "Draft", "description": "A course.", "language": "en"}),
    )

    api = moderator.client.post(f"/api/v1/offers/{draft.pk}/publish/")
    assert api.status_code == 409
    [error] = api.json()["errors"]
    assert error["code"] == "illegal_transition"

    browser = Client()
    browser.force_login(moderator.user)
    page = browser.post(reverse("web:entry-action", args=["offer", draft.pk, "publish"]))
    assert page.status_code == 302
    assert _page_messages(page) == [error["detail"]]
    draft.refresh_from_db()
    assert draft.status == EntryStatus.DRAFT


def test_an_entry_that_cannot_be_deleted_reads_the_same_in_the_api_and_on_the_page(civ, moderator):

    data = {
        "title": "Published",
        "description": "A course.",
        "language": "en",
        "articles": [8],
        "ta_types": ["capacity_building"],
    }
    offer = offer_create(
        actor=civ.user, organisation=civ.organisation, content=entry_content("offer", data), submit=True
    )
    entry_transition(actor=moderator.user, entry=offer, action="publish")

    api = civ.client.delete(f"/api/v1/offers/{offer.pk}/")
    assert api.status_code == 409
    [error] = api.json()["errors"]
    assert error["code"] == "not_editable"

    browser = Client()
    browser.force_login(civ.user)
    page = browser.post(reverse("web:entry-delete", args=["offer", offer.pk]))
    assert _page_messages(page) == [error["detail"]]
    assert ExpertiseOffer.objects.filter(pk=offer.pk).exists()


def test_the_admin_bulk_action_shows_the_same_message(civ, moderator):
    """A bulk approve that meets an illegal transition changes nothing and says why, as the API does."""

    draft = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {"title": "Draft", "description": "A course.", "language": "en"}),
    )
    api = moderator.client.post(f"/api/v1/offers/{draft.pk}/publish/")

    browser = Client()
    browser.force_login(moderator.user)
    page = browser.post(
        reverse("admin:kb_expertiseoffer_changelist"),
        {"action": "approve_selected", "_selected_action": [draft.pk]},
    )
    detail = api.json()["errors"][0]["detail"]
    assert _page_messages(page) == [f"Nothing was changed: {detail}"]
    assert ExpertiseOffer.objects.get(pk=draft.pk).status == EntryStatus.DRAFT


def test_a_write_that_waited_out_the_database_lock_answers_503_never_500():
    """SQLite's "database is locked" (busy timeout reached) is a 503 with Retry-After, on the API and
    on web pages alike: nothing was written and trying again works."""
    from django.db import OperationalError

    from config.middleware import DatabaseBusyMiddleware

    api = _api_answer(OperationalError("database is locked"))
    assert api.status_code == 503
    assert api.data["errors"][0]["code"] == "database_busy"
    assert int(api["Retry-After"]) > 0
    middleware = DatabaseBusyMiddleware(lambda request: None)
    page = middleware.process_exception(
        RequestFactory().post("/offers/1/edit/"), OperationalError("database is locked")
    )
    assert page.status_code == 503
    assert int(page["Retry-After"]) > 0
    api_path = middleware.process_exception(
        RequestFactory().post("/api/v1/offers/"), OperationalError("database is locked")
    )
    assert api_path.status_code == 503
    # Any other operational error is not disguised as "busy".
    assert middleware.process_exception(RequestFactory().get("/"), OperationalError("disk I/O error")) is None
