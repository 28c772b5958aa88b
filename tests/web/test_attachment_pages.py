"""Documents on the entry and engagement pages: upload, download, removal, and the 404 another
State's focal point gets for a draft's or an engagement's files."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kb.models import EntryAttachment
from kb.services.attachments import entry_attachment_add
from matching.models import Engagement, EngagementAttachment, EngagementState
from matching.services.attachments import engagement_attachment_add
from tests.attachment_files import EXE, PDF, upload
from tests.conftest import _focal_point
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db


def _browser(actor) -> Client:
    browser = Client()
    browser.force_login(actor.user)
    return browser


@pytest.fixture
def engagement(civ):
    """An engagement between a need of Côte d'Ivoire and a Rwandan offer."""
    rwa = _focal_point("RWA", provider=True, recipient=False)
    need = NeedFactory(organisation=civ.organisation, published=True)
    offer = OfferFactory(organisation=rwa.organisation, published=True)
    item = Engagement.objects.create(
        need=need, offer=offer, state=EngagementState.ACCEPTED, need_title=need.title, offer_title=offer.title
    )
    return civ, rwa, item


def test_focal_points_attach_and_remove_documents_on_the_entry_page(civ, kor):
    need = NeedFactory(organisation=civ.organisation, published=True)
    browser = _browser(civ)
    page = browser.get(reverse("web:entry", args=["need", need.pk])).content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "Country review executive summary" in page  # a need's kinds of document
    response = browser.post(
        reverse("web:entry-attachments", args=["need", need.pk]),
        {"kind": "review_summary", "file": upload("Résumé analytique.pdf", PDF)},
    )
    assert response.status_code == 302
    attachment = EntryAttachment.objects.get()
    download = reverse("web:entry-attachment", args=["need", need.pk, attachment.pk])
    assert download in browser.get(reverse("web:entry", args=["need", need.pk])).content.decode()
    # another State reads a published need's documents but gets no upload form nor remove button
    other = _browser(kor)
    page = other.get(reverse("web:entry", args=["need", need.pk])).content.decode()
    assert download in page
    assert 'enctype="multipart/form-data"' not in page
    assert reverse("web:entry-attachment-delete", args=["need", need.pk, attachment.pk]) not in page
    response = other.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert other.post(reverse("web:entry-attachment-delete", args=["need", need.pk, attachment.pk])).status_code == 302
    assert EntryAttachment.objects.exists()  # refused, with a message
    browser.post(reverse("web:entry-attachment-delete", args=["need", need.pk, attachment.pk]))
    assert not EntryAttachment.objects.exists()


def test_a_refused_upload_says_why_naming_the_field(civ):
    offer = OfferFactory(organisation=civ.organisation)
    browser = _browser(civ)
    response = browser.post(
        reverse("web:entry-attachments", args=["offer", offer.pk]),
        {"kind": "concept_note", "file": upload("concept.pdf", EXE)},
        follow=True,
    )
    page = response.content.decode()
    assert "Document: This kind of file is not accepted." in page
    assert not EntryAttachment.objects.exists()


def test_another_states_focal_point_gets_404_for_a_drafts_files(civ, kor):
    draft = NeedFactory(organisation=civ.organisation)
    attachment = entry_attachment_add(
        actor=civ.user, entry=draft, upload=upload("tor.pdf", PDF), kind="terms_of_reference"
    )
    other = _browser(kor)
    assert other.get(reverse("web:entry-attachment", args=["need", draft.pk, attachment.pk])).status_code == 404
    assert other.post(reverse("web:entry-attachment-delete", args=["need", draft.pk, attachment.pk])).status_code == 404
    upload_url = reverse("web:entry-attachments", args=["need", draft.pk])
    assert other.post(upload_url, {"kind": "other", "file": upload("x.pdf", PDF)}).status_code == 404
    # the file of one entry is not reachable through another entry's address either
    mine = NeedFactory(organisation=kor.organisation)
    assert other.get(reverse("web:entry-attachment", args=["need", mine.pk, attachment.pk])).status_code == 404
    assert _browser(civ).get(reverse("web:entry-attachment", args=["need", draft.pk, attachment.pk])).status_code == 200


def test_mission_reports_on_an_engagement_are_for_its_two_sides(engagement, kor, moderator):
    recipient, provider, item = engagement
    browser = _browser(provider)
    page = browser.get(reverse("web:engagement", args=[item.pk])).content.decode()
    assert "Mission report" in page
    browser.post(
        reverse("web:engagement-attachments", args=[item.pk]),
        {"kind": "mission_report", "file": upload("mission.pdf", PDF)},
    )
    attachment = EngagementAttachment.objects.get()
    assert attachment.uploaded_by == provider.user
    download = reverse("web:engagement-attachment", args=[item.pk, attachment.pk])
    assert download in _browser(recipient).get(reverse("web:engagement", args=[item.pk])).content.decode()
    for reader in (recipient, provider, moderator):
        assert _browser(reader).get(download).status_code == 200
    other = _browser(kor)
    assert other.get(download).status_code == 404
    assert other.post(reverse("web:engagement-attachment-delete", args=[item.pk, attachment.pk])).status_code == 404
    assert (
        other.post(
            reverse("web:engagement-attachments", args=[item.pk]), {"kind": "other", "file": upload("x.pdf", PDF)}
        ).status_code
        == 404
    )
    _browser(recipient).post(reverse("web:engagement-attachment-delete", args=[item.pk, attachment.pk]))
    assert not EngagementAttachment.objects.exists()


def test_an_engagement_refuses_a_renamed_executable(engagement):
    recipient, provider, item = engagement
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        engagement_attachment_add(
            actor=recipient.user, engagement=item, upload=upload("report.pdf", EXE), kind="mission_report"
        )
    assert set(error.value.message_dict) == {"file"}


def test_attachments_have_no_public_url(civ, settings):
    draft = NeedFactory(organisation=civ.organisation)
    attachment = entry_attachment_add(actor=civ.user, entry=draft, upload=upload("tor.pdf", PDF), kind="other")
    with pytest.raises(NotImplementedError):
        attachment.file.url  # noqa: B018
    anonymous = Client()
    response = anonymous.get(reverse("web:entry-attachment", args=["need", draft.pk, attachment.pk]))
    assert response.status_code == 302  # to the sign-in page
    assert anonymous.get("/" + attachment.file.name).status_code == 404


def test_a_document_larger_than_an_ordinary_request_passes_and_the_limit_holds(civ, settings):
    """Bodies are capped at 2.5 MB everywhere but on the upload paths, which take the attachment limit."""
    settings.ATTACHMENT_MAX_SIZE = 4 * 1024 * 1024
    offer = OfferFactory(organisation=civ.organisation)
    browser = _browser(civ)
    url = reverse("web:entry-attachments", args=["offer", offer.pk])
    three_mb = PDF + b" " * (3 * 1024 * 1024)
    assert browser.post(url, {"kind": "concept_note", "file": upload("big.pdf", three_mb)}).status_code == 302
    assert EntryAttachment.objects.get().size == len(three_mb)
    # a file over the limit, in a body the path still accepts: refused by name
    five_mb = PDF + b" " * (5 * 1024 * 1024)
    page = browser.post(
        url, {"kind": "concept_note", "file": upload("huge.pdf", five_mb)}, follow=True
    ).content.decode()
    assert "too large" in page
    # a body beyond the limit and the form's allowance: 413 before anything reads it
    eight_mb = PDF + b" " * (8 * 1024 * 1024)
    assert browser.post(url, {"kind": "concept_note", "file": upload("x.pdf", eight_mb)}).status_code == 413
    # elsewhere the ordinary cap stays
    edit = reverse("web:entry-edit", args=["offer", offer.pk])
    assert browser.post(edit, {"title": "x" * (3 * 1024 * 1024)}).status_code == 413
    assert EntryAttachment.objects.count() == 1
