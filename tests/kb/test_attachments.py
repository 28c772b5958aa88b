"""Documents attached to offers and needs: who may add, read and remove them, what is accepted,
and that files are never reachable except through the permission-checked download."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from core.attachments import attachment_storage
from kb.models import EntryAction, EntryAttachment, EntryEvent, EntryStatus
from kb.services.attachments import entry_attachment_add, entry_attachment_delete
from kb.services.entries import entry_delete
from tests.attachment_files import ELF, EXE, PDF, PNG, docx, upload
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft_need(civ):
    return NeedFactory(organisation=civ.organisation)


@pytest.fixture
def published_offer(civ):
    return OfferFactory(organisation=civ.organisation, published=True)


def _add(actor, entry, name="tor.pdf", content=PDF, kind="terms_of_reference"):
    return entry_attachment_add(actor=actor.user, entry=entry, upload=upload(name, content), kind=kind)


# --- what is accepted -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("terms.pdf", PDF, "application/pdf"),
        ("chart.png", PNG, "image/png"),
        ("note.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("minutes.txt", "Compte rendu de la mission à Abidjan\n".encode(), "text/plain"),
    ],
)
def test_accepted_kinds_are_recognised_by_their_content(civ, draft_need, name, content, content_type):
    attachment = _add(civ, draft_need, name=name, content=content)
    assert (attachment.name, attachment.content_type, attachment.size) == (name, content_type, len(content))


@pytest.mark.parametrize(
    ("name", "content"),
    [("report.pdf", EXE), ("notes.txt", ELF), ("summary.docx", EXE), ("setup.exe", EXE), ("photo.png", PDF)],
)
def test_a_renamed_executable_or_a_mismatched_name_is_refused_naming_the_field(civ, draft_need, name, content):
    with pytest.raises(ValidationError) as error:
        _add(civ, draft_need, name=name, content=content)
    assert set(error.value.message_dict) == {"file"}
    assert not EntryAttachment.objects.exists()


def test_size_limit_is_a_setting_and_its_error_names_the_field(civ, draft_need, settings):
    settings.ATTACHMENT_MAX_SIZE = 1000
    with pytest.raises(ValidationError) as error:
        _add(civ, draft_need, content=PDF + b" " * 1000)
    assert "too large" in error.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as error:
        _add(civ, draft_need, content=b"")
    assert "empty" in error.value.message_dict["file"][0]


def test_a_review_summary_belongs_on_a_need_not_an_offer(civ, draft_need, published_offer):
    assert _add(civ, draft_need, kind="review_summary").kind == "review_summary"
    with pytest.raises(ValidationError) as error:
        _add(civ, published_offer, kind="review_summary")
    assert set(error.value.message_dict) == {"kind"}


def test_stored_names_are_random_and_keep_nothing_of_the_upload(civ, draft_need):
    first, second = _add(civ, draft_need, name="../../etc/passwd.pdf"), _add(civ, draft_need, name="tor.pdf")
    assert first.name == "passwd.pdf"
    for attachment in (first, second):
        assert "passwd" not in attachment.file.name
        assert "tor" not in attachment.file.name.rsplit("/", 1)[-1]
    assert len(first.file.name.rsplit("/", 1)[-1]) == 32
    assert first.file.name != second.file.name


# --- who may add and remove -------------------------------------------------------------------


def test_only_the_entrys_focal_points_attach(kor, moderator, draft_need, published_offer):
    for actor in (kor, moderator):
        with pytest.raises(PermissionDenied):
            _add(actor, published_offer)


def test_adding_and_removing_are_recorded_and_the_file_goes_after_commit(
    civ, moderator, published_offer, django_capture_on_commit_callbacks
):
    attachment = _add(civ, published_offer)
    stored = attachment.file.name
    assert attachment_storage().exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        entry_attachment_delete(actor=moderator.user, attachment=attachment)
    assert not attachment_storage().exists(stored)
    actions = list(EntryEvent.objects.filter(offer=published_offer).values_list("action", "reason"))
    assert (EntryAction.ATTACHED, "tor.pdf") in actions
    assert (EntryAction.DETACHED, "tor.pdf") in actions


def test_another_state_cannot_remove_a_published_entrys_document(civ, kor, published_offer):
    attachment = _add(civ, published_offer)
    with pytest.raises(PermissionDenied):
        entry_attachment_delete(actor=kor.user, attachment=attachment)


def test_deleting_a_draft_deletes_its_files(civ, draft_need, django_capture_on_commit_callbacks):
    stored = _add(civ, draft_need).file.name
    with django_capture_on_commit_callbacks(execute=True):
        entry_delete(actor=civ.user, entry=draft_need)
    assert not attachment_storage().exists(stored)


def test_a_failed_write_leaves_no_file_behind(civ, draft_need, monkeypatch):
    before = set(_listing())
    monkeypatch.setattr("kb.services.attachments.entry_event_record", _boom)
    with pytest.raises(RuntimeError):
        _add(civ, draft_need)
    assert set(_listing()) == before
    assert not EntryAttachment.objects.exists()


def _boom(**kwargs):
    raise RuntimeError("the audit write failed")


def _listing():
    storage = attachment_storage()
    found = []
    if not storage.exists("attachments"):
        return found
    for year in storage.listdir("attachments")[0]:
        found += storage.listdir(f"attachments/{year}")[1]
    return found


# --- the API: reading across States, downloading, uploading -------------------------------------


def _download_url(kind, entry, attachment):
    return reverse(f"kb-api:{kind}-attachment-detail", kwargs={"pk": entry.pk, "attachment_id": attachment.pk})


def test_a_drafts_files_are_a_404_for_another_state(civ, civ_colleague, kor, moderator, draft_need):
    attachment = _add(civ, draft_need)
    url = _download_url("need", draft_need, attachment)
    assert kor.client.get(url).status_code == 404
    assert kor.client.delete(url).status_code == 404
    assert kor.client.get(reverse("kb-api:need-attachments", kwargs={"pk": draft_need.pk})).status_code == 404
    for reader in (civ_colleague, moderator):
        assert reader.client.get(url).status_code == 200


def test_download_is_an_attachment_never_sniffed(civ, kor, published_offer):
    attachment = _add(civ, published_offer, name="Termes de référence.pdf")
    response = kor.client.get(_download_url("offer", published_offer, attachment), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Termes" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF


def test_anonymous_callers_get_nothing(civ, anonymous_client, published_offer):
    attachment = _add(civ, published_offer)
    assert anonymous_client.get(_download_url("offer", published_offer, attachment)).status_code == 401


def test_upload_through_the_api_and_list_on_the_entry(civ, kor, published_offer):
    url = reverse("kb-api:offer-attachments", kwargs={"pk": published_offer.pk})
    response = civ.client.post(url, {"file": upload("note.pdf", PDF), "kind": "concept_note"}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "note.pdf"
    entry = kor.client.get(reverse("kb-api:offer-detail", kwargs={"pk": published_offer.pk})).json()
    assert [a["name"] for a in entry["attachments"]] == ["note.pdf"]
    assert entry["attachments"][0]["download"].endswith(
        _download_url("offer", published_offer, EntryAttachment.objects.get())
    )
    refused = civ.client.post(url, {"file": upload("tool.pdf", EXE), "kind": "other"}, format="multipart")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["attr"] == "file"
    assert kor.client.post(url, {"file": upload("x.pdf", PDF), "kind": "other"}, format="multipart").status_code == 403


def test_an_archived_entry_takes_no_new_document(civ, published_offer):
    published_offer.status = EntryStatus.ARCHIVED
    published_offer.save()
    url = reverse("kb-api:offer-attachments", kwargs={"pk": published_offer.pk})
    response = civ.client.post(url, {"file": upload("note.pdf", PDF), "kind": "concept_note"}, format="multipart")
    assert response.status_code == 409


def test_ids_beyond_64_bits_are_a_404(civ, published_offer):
    huge = 2**70
    url = reverse("kb-api:offer-attachment-detail", kwargs={"pk": published_offer.pk, "attachment_id": huge})
    assert civ.client.get(url).status_code == 404
