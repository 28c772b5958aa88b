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
