"""Dates typed the one way every reader of the six languages reads the same: year-month-day.

A browser's own date field shows its locale's order (Chromium in English shows mm/dd/yyyy, which UN
staff read as day/month); this field shows and accepts ISO 8601 (2027-03-15) in every language, says
so next to itself, and keeps its digits left to right in Arabic too."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kb.content import DATE_INVALID

ISO_DATE = "%Y-%m-%d"


class IsoDateInput(forms.DateInput):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {
            "class": "iso-date", "dir": "ltr", "inputmode": "numeric", "autocomplete": "off",
            "pattern": r"\d{4}-\d{2}-\d{2}", "placeholder": _("yyyy-mm-dd"),
        }  # fmt: skip
        super().__init__(attrs={**base, **(attrs or {})}, format=ISO_DATE)


class IsoDateField(forms.DateField):
    widget = IsoDateInput
    default_error_messages = {"invalid": DATE_INVALID}  # the message of every path that takes a date

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _("Year-month-day, for example 2027-03-15."))
        kwargs.setdefault("input_formats", [ISO_DATE])
        super().__init__(**kwargs)
