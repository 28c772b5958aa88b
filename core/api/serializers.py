"""Input serializers refuse what a client may not set, naming each field, so a mass-assignment
attempt is visible to the client instead of silently ignored."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


def reject_unknown_fields(serializer: serializers.Serializer, data: Any) -> None:
    """A ``ValidationError`` naming every key ``serializer`` does not accept (read-only or unknown)."""
    if not hasattr(data, "keys"):
        return
    writable = {name for name, field in serializer.fields.items() if not field.read_only}
    extra = sorted(set(data.keys()) - writable)
    if extra:
        raise serializers.ValidationError(
            {name: ["This field cannot be set here (read-only or unknown)."] for name in extra}
        )


class RejectUnknownFieldsMixin:
    """Fail validation on keys the serializer does not accept (read-only or unknown)."""

    def to_internal_value(self, data):
        reject_unknown_fields(self, data)  # type: ignore[arg-type]
        return super().to_internal_value(data)  # type: ignore[misc]
