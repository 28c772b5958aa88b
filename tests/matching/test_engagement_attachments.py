"""Documents on an engagement through the API: both sides share them, another State gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from matching.models import Engagement, EngagementAttachment, EngagementState
from tests.attachment_files import EXE, PDF, upload
from tests.conftest import _focal_point
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagement(civ):
    rwa = _focal_point("RWA", provider=True, recipient=False)
    need = NeedFactory(organisation=civ.organisation, published=True)
    offer = OfferFactory(organisation=rwa.organisation, published=True)
    item = Engagement.objects.create(
        need=need, offer=offer, state=EngagementState.COMPLETED, need_title=need.title, offer_title=offer.title
    )
    return civ, rwa, item


def test_a_mission_report_is_shared_by_both_sides_and_hidden_from_others(engagement, kor, moderator):
    recipient, provider, item = engagement
    url = reverse("matching-api:engagement-attachments", kwargs={"pk": item.pk})
    response = provider.client.post(
        url, {"file": upload("Mission report.pdf", PDF), "kind": "mission_report"}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    attachment = EngagementAttachment.objects.get()
    download = reverse(
        "matching-api:engagement-attachment-detail", kwargs={"pk": item.pk, "attachment_id": attachment.pk}
    )
    assert response.json()["download"].endswith(download)
    assert [a["name"] for a in recipient.client.get(url).json()] == ["Mission report.pdf"]
    for reader in (recipient, provider, moderator):
        got = reader.client.get(download)
        assert got.status_code == 200
        assert got["X-Content-Type-Options"] == "nosniff"
        assert got["Content-Disposition"].startswith("attachment;")
    for response in (
        kor.client.get(url),
        kor.client.get(download),
        kor.client.delete(download),
        kor.client.post(url, {"file": upload("x.pdf", PDF), "kind": "other"}, format="multipart"),
    ):
        assert response.status_code == 404
    refused = recipient.client.post(
        url, {"file": upload("report.pdf", EXE), "kind": "mission_report"}, format="multipart"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["attr"] == "file"
    assert recipient.client.delete(download).status_code == 204
    assert not EngagementAttachment.objects.exists()
