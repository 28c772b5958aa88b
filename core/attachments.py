"""Files attached to entries and engagements: where they are stored, what is accepted, how they are served.

Invariants:
- Files live in the ``attachments`` storage (``STORAGES["attachments"]``): a directory under the
  var dir in embedded mode, an S3-compatible bucket when ``ATTACHMENTS_S3_BUCKET`` is set. Neither
  is ever served directly: ``MEDIA_URL`` is not routed, the bucket is private. Every download goes
  through a view that first checks the reader may see the entry or engagement (``attachment_response``).
- A stored name is random (``attachments/<yyyy>/<32 hex>``), never the uploaded name nor a
  sequence, so it cannot be guessed; the uploaded name is kept in the row for the download.
- An upload is accepted only if it is at most ``ATTACHMENT_MAX_SIZE`` bytes and its content (its
  magic bytes, not only its extension) is one of ``ALLOWED_TYPES``: PDF, Office and OpenDocument
  files, plain text, images. Errors name the field (``file``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, storages
from django.db import models
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class AllowedType:
    content_type: str
    extensions: tuple[str, ...]


#: What may be attached, by the content type its bytes show (``filetype``); the extension of the
#: uploaded name must be one of the type's. Plain text has no magic bytes: it is accepted when no
#: binary signature is found and the content is UTF-8 text without control characters.
ALLOWED_TYPES: dict[str, AllowedType] = {
    t.content_type: t
    for t in (
        AllowedType("application/pdf", ("pdf",)),
        AllowedType("application/msword", ("doc", "dot")),
        AllowedType("application/vnd.ms-excel", ("xls",)),
        AllowedType("application/vnd.ms-powerpoint", ("ppt",)),
        AllowedType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",)),
        AllowedType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
        AllowedType("application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",)),
        AllowedType("application/vnd.oasis.opendocument.text", ("odt",)),
        AllowedType("application/vnd.oasis.opendocument.spreadsheet", ("ods",)),
        AllowedType("application/vnd.oasis.opendocument.presentation", ("odp",)),
        AllowedType("image/png", ("png",)),
        AllowedType("image/jpeg", ("jpg", "jpeg")),
        AllowedType("image/gif", ("gif",)),
        AllowedType("image/webp", ("webp",)),
        AllowedType("text/plain", ("txt", "csv", "md")),
    )
}
TEXT_PLAIN = "text/plain"
#: Bytes read to recognise a file (``filetype`` needs the first 8 KB; text is checked on them too).
SNIFF_BYTES = 8192
MAX_NAME_LENGTH = 200


def attachment_storage() -> Storage:
    """The configured storage, looked up at each use (the settings may change it, as tests do)."""
    return storages["attachments"]


class AttachmentStorage(Storage):
    """What the models' file fields hold: every call goes to ``STORAGES["attachments"]`` as the
    settings have it now, not as they were when the models were imported."""

    def open(self, name, mode="rb"):
        return attachment_storage().open(name, mode)

    def save(self, name, content, max_length=None):
        return attachment_storage().save(name, content, max_length=max_length)

    def delete(self, name):
        return attachment_storage().delete(name)

    def exists(self, name):
        return attachment_storage().exists(name)

    def size(self, name):
        return attachment_storage().size(name)

    def listdir(self, path):
        return attachment_storage().listdir(path)

    def path(self, name):
        return attachment_storage().path(name)

    def url(self, name):
        raise NotImplementedError("attachments have no URL: they are served by a view that checks the reader")

    def generate_filename(self, filename):
        return attachment_storage().generate_filename(filename)

    def get_available_name(self, name, max_length=None):
        return attachment_storage().get_available_name(name, max_length=max_length)


def attachment_field_storage() -> AttachmentStorage:
    return AttachmentStorage()


def attachment_upload_to(instance: models.Model, filename: str) -> str:
    """A random stored name: nothing of the uploaded name, nothing guessable."""
    return f"attachments/{timezone.now():%Y}/{secrets.token_hex(16)}"


def _sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sniffed bytes may end inside a multi-byte character.
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text):
        return None
    return TEXT_PLAIN


def clean_file_name(name: str) -> str:
    """The uploaded name without its directories and control characters, at most 200 characters."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    stem, ext = os.path.splitext(base)
    return (stem[: MAX_NAME_LENGTH - len(ext)] + ext) if base else "file"


def attachment_check(upload, *, field: str = "file") -> tuple[str, str]:
    """Check an uploaded file's size and content; return ``(clean name, content type)``.

    Raises a ``ValidationError`` naming ``field`` when the file is empty, too large, or not of an
    accepted type (by its bytes and by its extension)."""
    size = upload.size or 0
    if size == 0:
        raise ValidationError({field: _("The file is empty.")})
    if size > settings.ATTACHMENT_MAX_SIZE:
        raise ValidationError(
            {
                field: _("The file is too large (%(size)s); the limit is %(limit)s.")
                % {"size": filesizeformat(size), "limit": filesizeformat(settings.ATTACHMENT_MAX_SIZE)}
            }
        )
    name = clean_file_name(getattr(upload, "name", "") or "")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    content_type = _sniff(head)
    extension = os.path.splitext(name)[1].lstrip(".").lower()
    allowed = ALLOWED_TYPES.get(content_type or "")
    accepted = ", ".join(sorted({e for t in ALLOWED_TYPES.values() for e in t.extensions}))
    if allowed is None:
        raise ValidationError(
            {field: _("This kind of file is not accepted. Accepted: %(types)s.") % {"types": accepted}}
        )
    if extension not in allowed.extensions:
        raise ValidationError(
            {
                field: _("The file's content does not match its name (.%(ext)s). Accepted: %(types)s.")
                % {"ext": extension or "—", "types": accepted}
            }
        )
    return name, content_type  # type: ignore[return-value]


class AttachmentKind(models.TextChoices):
    TERMS_OF_REFERENCE = "terms_of_reference", gettext_lazy("Terms of reference")
    CONCEPT_NOTE = "concept_note", gettext_lazy("Concept note")
    REVIEW_SUMMARY = "review_summary", gettext_lazy("Country review executive summary")
    MISSION_REPORT = "mission_report", gettext_lazy("Mission report")
    OTHER = "other", gettext_lazy("Other document")


class Attachment(models.Model):
    """What an entry's and an engagement's attachments share (each app has its own table)."""

    kind = models.CharField(gettext_lazy("kind of document"), max_length=30, choices=AttachmentKind.choices)
    file = models.FileField(
        gettext_lazy("file"), upload_to=attachment_upload_to, storage=attachment_field_storage, max_length=200
    )
    name = models.CharField(gettext_lazy("file name"), max_length=MAX_NAME_LENGTH)
    content_type = models.CharField(gettext_lazy("content type"), max_length=100)
    size = models.PositiveBigIntegerField(gettext_lazy("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("uploaded by"),
    )
    created_at = models.DateTimeField(gettext_lazy("uploaded"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


def attachment_upload_check(upload, *, kind: str, kinds: tuple[str, ...]) -> tuple[str, str]:
    """An upload and its kind, checked together (every error at once, by field: ``kind``,
    ``file``); returns the clean file name and the content type."""
    errors: dict[str, list[str]] = {}
    if kind not in kinds:
        errors["kind"] = [_("Choose the kind of document.")]
    name = content_type = ""
    try:
        name, content_type = attachment_check(upload, field="file")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return name, content_type


@contextlib.contextmanager
def attachment_files_removed_on_failure() -> Iterator[list[str]]:
    """Around the transaction that saves attachment rows: the names of the files stored inside it
    (``attachment_file_store``) are removed at once if it fails or rolls back."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        for name in stored:
            attachment_storage().delete(name)
        raise


def attachment_file_store(attachment: Attachment, upload, name: str, stored: list[str]) -> None:
    """Store ``upload`` as ``attachment``'s file (under a random name) and save the row."""
    attachment.file.save(name, upload, save=False)
    stored.append(attachment.file.name)
    attachment.save()


def attachment_files_delete(names: list[str]) -> None:
    """Remove stored files (after the rows that named them are gone: call on commit)."""
    storage = attachment_storage()
    for name in names:
        if name:
            storage.delete(name)


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file as a download: never displayed inline, never sniffed into another type."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
