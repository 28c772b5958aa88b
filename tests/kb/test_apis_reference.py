"""Reference-data endpoints, organisations, the current user, import/export uploads."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kb.models import ExpertiseOffer, Organisation

pytestmark = pytest.mark.django_db


def test_countries_carry_south_south_flags_and_localised_names(outsider):
    body = outsider.client.get(reverse("kb-api:country-detail", kwargs={"iso3": "PSE"})).json()
    assert body["g77"] is True
    assert body["name_en"] == "State of Palestine"
    french = outsider.client.get(
        reverse("kb-api:country-detail", kwargs={"iso3": "CIV"}), HTTP_ACCEPT_LANGUAGE="fr"
    ).json()
    assert french["name"] == "Côte d’Ivoire"
    listed = outsider.client.get(
        reverse("kb-api:country-list"), {"g77": "true", "region": "Africa", "page_size": 100}
    ).json()
    assert listed["count"] >= 1
    assert all(c["g77"] and c["region"] == "Africa" for c in listed["results"])


def test_taxonomy_is_complete_and_translated(outsider):
    articles = outsider.client.get(reverse("kb-api:article-list"), {"page_size": 100}).json()
    assert articles["count"] == 71
    chapters = outsider.client.get(reverse("kb-api:chapter-list")).json()["results"]
    assert [c["roman"] for c in chapters] == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
    area = outsider.client.get(
        reverse("kb-api:thematic-area-detail", kwargs={"code": "asset_declarations"}), HTTP_ACCEPT_LANGUAGE="ar"
    ).json()
    assert area["label"] != "Asset declarations"
    assert 8 in area["articles"]
    types = outsider.client.get(reverse("kb-api:ta-type-list")).json()
    assert types["count"] == 11


def test_me_lists_memberships_and_roles(civ, moderator):
    body = civ.client.get(reverse("me")).json()
    assert body["email"] == civ.user.email
    assert body["is_moderator"] is False
    assert body["memberships"][0]["organisation"]["country"] == "CIV"
    assert moderator.client.get(reverse("me")).json()["is_moderator"] is True


def test_only_moderators_create_organisations(civ, moderator):
    payload = {"name": "Ministry of Justice", "country": "SEN", "kind": "ministry"}
    assert civ.client.post(reverse("kb-api:organisation-list"), payload, format="json").status_code == 403
    response = moderator.client.post(reverse("kb-api:organisation-list"), payload, format="json")
    assert response.status_code == 201, response.content
    assert Organisation.objects.get(name="Ministry of Justice").country.iso3 == "SEN"
    duplicate = moderator.client.post(reverse("kb-api:organisation-list"), payload, format="json")
    assert duplicate.status_code == 400


def _upload(client, text: str, **extra):
    return client.post(
        reverse("kb-api:import"),
        {"file": SimpleUploadedFile("entries.jsonl", text.encode("utf-8")), **extra},
        format="multipart",
    )


LINE = json.dumps(
    {"kind": "offer", "external_id": "MUS-ICAC-01", "country": "MUS", "organisation": "ICAC Mauritius",
     "title": "Financial investigations training", "description": "A course.", "language": "en", "status": "published"}
)  # fmt: skip


def test_moderators_upload_files_through_the_api(moderator, civ):
    assert _upload(civ.client, LINE, publish="true").status_code == 403
    dry = _upload(moderator.client, LINE, publish="true", dry_run="true")
    assert dry.status_code == 200, dry.content
    assert dry.json() == {"created": 1, "updated": 0, "unchanged": 0, "dry_run": True}
    assert not ExpertiseOffer.objects.exists()
    assert _upload(moderator.client, LINE, publish="true").json()["created"] == 1
    assert ExpertiseOffer.objects.get().status == "published"


def test_uploaded_file_errors_name_line_and_key(moderator):
    response = _upload(moderator.client, LINE + "\n" + LINE.replace("MUS-ICAC-01", "X").replace('"en"', '"zz"'))
    assert response.status_code == 400
    attrs = {e["attr"] for e in response.json()["errors"]}
    assert {"line_1.status", "line_2.language"} <= attrs
    assert not ExpertiseOffer.objects.exists()


def test_export_download(moderator, civ):
    _upload(moderator.client, LINE, publish="true")
    assert civ.client.get(reverse("kb-api:export")).status_code == 403
    response = moderator.client.get(reverse("kb-api:export"))
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert json.loads(lines[0])["external_id"] == "MUS-ICAC-01"
