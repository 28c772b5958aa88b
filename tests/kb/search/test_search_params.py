"""One parser for the search parameters (``kb.search.params.search_params_parse``): the API, the
Browse page and saving a search refuse the same bad input with the same error, and page through the
same window."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

pytestmark = pytest.mark.django_db

BAD = [
    ({"page": "0"}, "page"),
    ({"page": "abc"}, "page"),
    ({"page": "501"}, "page"),  # 501 pages of 20 go past the 10,000-result window
    ({"sort": "price"}, "sort"),
    ({"q": "x" * 501}, "q"),
]


@pytest.mark.parametrize(("params", "field"), BAD)
def test_api_and_browse_refuse_the_same_input_with_the_same_error(civ, params, field):
    api = civ.client.get("/api/v1/search/", {**params, "page_size": 20})
    assert api.status_code == 400
    errors = [e for e in api.json()["errors"] if e["attr"] == field]
    assert errors, api.json()

    browser = Client()
    browser.force_login(civ.user)
    page = browser.get(reverse("web:browse"), params)
    assert page.status_code == 400
    html = page.content.decode()
    for error in errors:
        assert escape(error["detail"]) in html


def test_the_last_page_of_the_window_is_accepted_on_both_paths(civ, search_backend):
    assert civ.client.get("/api/v1/search/", {"page": 500, "page_size": 20}).status_code == 200
    browser = Client()
    browser.force_login(civ.user)
    assert browser.get(reverse("web:browse"), {"page": 500}).status_code == 200


def test_browse_ignores_parameters_it_does_not_know_but_the_api_refuses_them(civ, search_backend):
    browser = Client()
    browser.force_login(civ.user)
    assert browser.get(reverse("web:browse"), {"utm_source": "newsletter"}).status_code == 200
    assert civ.client.get("/api/v1/search/", {"utm_source": "newsletter"}).status_code == 400


#: What is searched, refused alike by the search API, Browse, and saving a search (from the API,
#: where the facets are nested under ``filters``, and from Browse): (query, the API's field).
BAD_QUERY = [
    ({"q": "x" * 501}, "q"),
    ({"country": ["x" * 65]}, "country.0"),
    ({"country": [f"C{n}" for n in range(51)]}, "country"),  # at most 50 values per facet
    ({"article": [""]}, "article.0"),
]


def test_a_nul_is_the_same_error_on_search_browse_and_saving_from_browse(civ):
    """(A JSON body holding a NUL anywhere is refused whole, before any field: ``kb.apis.parsers``.)"""
    query = {"article": ["8\x00"]}
    api = civ.client.get("/api/v1/search/", query)
    assert api.status_code == 400
    ((attr, detail),) = [(e["attr"], e["detail"]) for e in api.json()["errors"]]
    assert attr == "article.0"
    browser = Client()
    browser.force_login(civ.user)
    page = browser.get(reverse("web:browse"), query)
    assert page.status_code == 400
    assert escape(detail) in page.content.decode()
    saving = browser.post(reverse("web:saved-search-save"), {**query, "name": "Mine"}, follow=True)
    assert detail in [str(m) for m in saving.context["messages"]]


def _saved_search_body(query: dict) -> dict:
    body: dict = {"name": "Mine", "filters": {}}
    for key, value in query.items():
        if key in ("q", "type"):
            body[key] = value
        else:
            body["filters"][key] = value
    return body


@pytest.mark.parametrize(("query", "field"), BAD_QUERY)
def test_searching_and_saving_a_search_refuse_the_same_input_with_the_same_error(civ, query, field):
    from kb.models import SavedSearch

    api = civ.client.get("/api/v1/search/", query)
    assert api.status_code == 400
    errors = {(e["attr"], e["detail"]) for e in api.json()["errors"]}
    assert {attr for attr, _detail in errors} == {field}, errors

    saved = civ.client.post("/api/v1/saved-searches/", _saved_search_body(query), format="json")
    assert saved.status_code == 400
    nested = field if field == "q" else f"filters.{field}"
    assert {(e["attr"], e["detail"]) for e in saved.json()["errors"]} == {(nested, d) for _a, d in errors}

    browser = Client()
    browser.force_login(civ.user)
    page = browser.get(reverse("web:browse"), query)
    assert page.status_code == 400
    saving = browser.post(reverse("web:saved-search-save"), {**query, "name": "Mine"}, follow=True)
    for _attr, detail in errors:
        assert escape(detail) in page.content.decode()
        assert detail in [str(m) for m in saving.context["messages"]]
    assert not SavedSearch.objects.exists()


def test_an_unknown_type_is_the_same_error_on_the_search_and_saved_search_apis(civ):
    api = civ.client.get("/api/v1/search/", {"type": "people"})
    saved = civ.client.post("/api/v1/saved-searches/", {"name": "Mine", "type": "people"}, format="json")
    assert api.status_code == saved.status_code == 400
    assert [(e["attr"], e["detail"]) for e in api.json()["errors"]] == [
        (e["attr"], e["detail"]) for e in saved.json()["errors"]
    ]


def test_a_saved_search_keeps_what_the_parser_read(civ):
    """Repeated and unordered facet values are kept once, sorted, on every path."""
    from kb.models import SavedSearch

    body = {"name": "Mine", "q": " whistle ", "type": "needs", "filters": {"article": ["33", "8", "33"]}}
    assert civ.client.post("/api/v1/saved-searches/", body, format="json").status_code == 201
    search = SavedSearch.objects.get()
    assert (search.text, search.kind, search.filters) == ("whistle", "need", {"article": ["33", "8"]})
