"""The OpenAPI schema is valid and documents the error shape."""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_schema_validates(outsider):
    response = outsider.client.get(reverse("api-schema"))
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    paths = schema["paths"]
    assert "/api/v1/offers/{id}/publish/" in paths
    assert "409" in paths["/api/v1/offers/{id}/publish/"]["post"]["responses"]
    assert "/api/v1/needs/" in paths


def test_interactive_docs_are_served(outsider):
    assert outsider.client.get(reverse("api-docs")).status_code == 200


def test_every_operation_a_signed_in_caller_may_be_refused_documents_403(outsider, civ, kor):
    """The services refuse with 403 (another State's entry, an engagement that is not yours): the
    schema says so wherever a caller must be signed in, and not where anyone may call."""
    from tests.factories import OfferFactory

    schema = yaml.safe_load(outsider.client.get(reverse("api-schema")).content)
    for path, method in [
        ("/api/v1/offers/{id}/", "patch"),
        ("/api/v1/offers/{id}/publish/", "post"),
        ("/api/v1/needs/{id}/candidates/", "get"),
        ("/api/v1/engagements/{id}/messages/", "post"),
    ]:
        assert "403" in schema["paths"][path][method]["responses"], (path, method)
    assert "403" not in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    # And the API does answer it: Korea's focal point changing a published Ivorian offer.
    offer = OfferFactory(organisation=civ.organisation, published=True)
    assert kor.client.patch(f"/api/v1/offers/{offer.pk}/", {"title": "Taken over"}, format="json").status_code == 403
