"""What an attacker found in the API, each closed: history leaks, 500s a client could trigger,
unbounded bodies and texts."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from kb.content import entry_content
from kb.models import MAX_DESCRIPTION_LENGTH, ExpertiseOffer
from tests.kb.test_apis_entries import OFFER, assert_error, make, publish, url

pytestmark = pytest.mark.django_db

TOO_BIG = str(2**64 + 1)


def test_history_of_a_published_entry_shows_others_only_when_it_was_published(civ, kor, outsider, moderator):
    need = make("need", civ)
    civ.client.post(url("need", need.pk, "submit"))
    moderator.client.post(url("need", need.pk, "return"), {"reason": "Name the agency concerned"}, format="json")
    publish(need, civ, moderator)
    for reader in (kor, outsider):
        history = reader.client.get(url("need", need.pk, "history")).json()["results"]
        assert [e["action"] for e in history] == ["publish"]
        assert history[0]["actor"] is None
        assert history[0]["reason"] == ""
        body = json.dumps(history)
        assert moderator.user.email not in body
        assert civ.user.email not in body
        assert "Name the agency" not in body
    full = civ.client.get(url("need", need.pk, "history")).json()["results"]
    assert {"return", "submit", "publish", "created"} <= {e["action"] for e in full}
    assert any(e["actor"] == moderator.user.email and e["reason"] for e in full)
    assert moderator.client.get(url("need", need.pk, "history")).json()["count"] == len(full)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/offers/?organisation={TOO_BIG}",
        f"/api/v1/needs/?organisation={TOO_BIG}",
        f"/api/v1/offers/?chapter={TOO_BIG}",
        f"/api/v1/needs/?article={TOO_BIG}",
        f"/api/v1/taxonomy/articles/?chapter={TOO_BIG}",
        f"/api/v1/engagements/?need={TOO_BIG}",
        f"/api/v1/engagements/?offer={TOO_BIG}",
        "/api/v1/offers/?chapter=1e400",
    ],
)
def test_integers_beyond_64_bits_in_filters_are_a_400(path, civ):
    assert_error(civ.client.get(path), 400)


def test_integers_beyond_64_bits_in_bodies_are_a_400(civ):
    response = civ.client.post("/api/v1/notifications/mark-read/", {"ids": [int(TOO_BIG)]}, format="json")
    assert_error(response, 400, attr="ids.0")
    response = civ.client.post("/api/v1/engagements/", {"need": int(TOO_BIG), "offer": 1}, format="json")
    assert_error(response, 400, attr="need")


def test_ids_beyond_64_bits_in_paths_are_a_404(civ):
    assert_error(civ.client.get(f"/api/v1/offers/{TOO_BIG}/"), 404)


@pytest.mark.parametrize("path", ["/api/v1/offers/", "/api/v1/auth/token/"])
def test_json_nested_a_thousand_deep_is_a_400(path, civ, anonymous_client):
    client = anonymous_client if "token" in path else civ.client
    body = "[" * 1000 + "]" * 1000
    assert_error(client.post(path, body, content_type="application/json"), 400, "parse_error")
    body = json.dumps({"title": [[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]})
    assert_error(client.post(path, body, content_type="application/json"), 400, "parse_error")


@pytest.mark.parametrize("text", ["nul \u0000 inside", "lone \ud800 surrogate"])
def test_strings_that_cannot_be_stored_are_a_400(text, civ):
    payload = {**OFFER, "organisation": civ.organisation.pk, "title": text}
    raw = json.dumps(payload)  # \\u escapes: valid JSON, not storable text
    assert_error(civ.client.post(url("offer"), raw, content_type="application/json"), 400, "parse_error")
    assert not ExpertiseOffer.objects.exists()


def test_more_than_a_thousand_query_parameters_is_a_400(civ):
    query = "&".join(f"p{i}=1" for i in range(1001))
    assert_error(civ.client.get(f"/api/v1/offers/?{query}"), 400)
    assert_error(civ.client.get(f"/api/v1/search/?{query}"), 400)


def test_a_body_larger_than_the_limit_is_a_413_before_it_is_read(civ, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = {**OFFER, "organisation": civ.organisation.pk, "description": "x" * 20_000}
    assert_error(civ.client.post(url("offer"), payload, format="json"), 413, "request_too_large")
    assert not ExpertiseOffer.objects.exists()


def test_a_json_body_past_the_limit_is_refused_even_with_a_smaller_declared_length(civ, settings, rf):
    """The parser itself reads no more than the limit (DRF's own read the whole stream)."""
    import io

    from rest_framework.exceptions import APIException

    from kb.apis.parsers import BoundedJSONParser

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    with pytest.raises(APIException) as caught:
        BoundedJSONParser().parse(io.BytesIO(b'{"a": "' + b"x" * 200 + b'"}'))
    assert caught.value.status_code == 413


def test_descriptions_longer_than_the_documented_maximum_are_refused_on_every_path(civ):
    long = "word " * (MAX_DESCRIPTION_LENGTH // 5) + "more"
    payload = {**OFFER, "organisation": civ.organisation.pk, "description": long}
    assert_error(civ.client.post(url("offer"), payload, format="json"), 400, attr="description")
    offer = make("offer", civ)
    response = civ.client.patch(url("offer", offer.pk), {"description": long}, format="json")
    assert_error(response, 400, attr="description")
    from django.core.exceptions import ValidationError

    from kb.services.entries import entry_update

    with pytest.raises(ValidationError) as caught:
        entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"description": long}))
    assert "description" in caught.value.message_dict
    schema = civ.client.get(reverse("api-schema"), {"format": "json"}).json()
    assert schema["components"]["schemas"]["OfferInputRequest"]["properties"]["description"]["maxLength"] == (
        MAX_DESCRIPTION_LENGTH
    )
