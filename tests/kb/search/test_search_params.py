"""One parser for the search parameters (``kb.apis.search.search_params_parse``): the API and the
Browse page refuse the same bad input with the same error, and page through the same window."""

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
