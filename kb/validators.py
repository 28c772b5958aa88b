"""Validators for text that is stored and indexed.

PostgreSQL refuses NUL in text and UTF-8 cannot encode a lone surrogate (JSON's ``"\\ud800"``):
either would fail the write with a server error instead of a clear answer, so they are refused
where text comes in, naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(value: str) -> str | None:
    """A description of the first character of ``value`` that cannot be stored, or None."""
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    return "NUL" if match.group() == "\x00" else f"U+{ord(match.group()):04X}"


def validate_storable_text(value) -> None:
    if isinstance(value, str) and (bad := unstorable_character(value)) is not None:
        raise ValidationError(
            _("Contains a character that cannot be stored (%(char)s).") % {"char": bad}, code="unstorable"
        )


MAX_KEYWORDS = 30
MAX_KEYWORD_LENGTH = 100


def keywords_clean(value: Any) -> list[str]:
    """An entry's keywords: stripped, de-duplicated, at most ``MAX_KEYWORDS`` of at most
    ``MAX_KEYWORD_LENGTH`` characters each. The one rule for the API, the web form and import."""
    if not isinstance(value, list | tuple):
        raise ValidationError({"keywords": _("Give keywords as a list of strings.")})
    cleaned: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError({"keywords": _("Every keyword must be a non-empty string.")})
        if len(item) > MAX_KEYWORD_LENGTH:
            raise ValidationError(
                {"keywords": _("A keyword has at most %(n)d characters.") % {"n": MAX_KEYWORD_LENGTH}}
            )
        if unstorable_character(item) is not None:
            raise ValidationError({"keywords": _("A keyword contains a character that cannot be stored.")})
        if item.strip() not in cleaned:
            cleaned.append(item.strip())
    if len(cleaned) > MAX_KEYWORDS:
        raise ValidationError({"keywords": _("At most %(n)d keywords.") % {"n": MAX_KEYWORDS}})
    return cleaned
