"""Saving and deleting searches (the alerts they raise: ``kb.search.alerts``).

Invariants: a signed-in user saves a search for themself only, with a name unique among theirs;
the query is validated like a search (text at most 500 characters; only the search's facets, each
a list of at most ``MAX_VALUES`` codes); a user keeps at most ``MAX_SAVED_SEARCHES``. Only the
owner deletes a saved search (someone else's is not found). Each error names its field.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from kb.models import EntryKind, SavedSearch
from kb.search.documents import FACET_FIELDS
from kb.validators import unstorable_character, validate_storable_text

MAX_SAVED_SEARCHES = 50
MAX_VALUES = 50
MAX_TEXT = 500


def _filters_clean(filters: Mapping | None) -> dict[str, list[str]]:
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ValidationError({"filters": _("Give the filters as facet: list of values.")})
    cleaned: dict[str, list[str]] = {}
    for facet, values in filters.items():
        if facet not in FACET_FIELDS or facet == "kind":
            raise ValidationError({"filters": _("Unknown facet: %(facet)s.") % {"facet": str(facet)[:40]}})
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list | tuple) or len(values) > MAX_VALUES:
            raise ValidationError({"filters": _("Give at most %(n)d values per facet.") % {"n": MAX_VALUES}})
        if any(not isinstance(v, str) or not v or len(v) > 64 or unstorable_character(v) for v in values):
            raise ValidationError({"filters": _("Each value of %(facet)s is a code.") % {"facet": facet}})
        if values:
            cleaned[facet] = sorted(set(values))
    return cleaned


def saved_search_create(
    *, user: User, name: str, text: str = "", kind: str = "", filters: Mapping | None = None
) -> SavedSearch:
    if not user.is_authenticated:
        raise PermissionDenied(_("Sign in to save a search."))
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        errors["text"] = [_("At most %(n)d characters.") % {"n": MAX_TEXT}]
    for field, value in (("text", text), ("name", name or "")):
        try:
            validate_storable_text(value)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if kind not in ("", *EntryKind.values):
        errors["kind"] = [_("Choose offers, needs, or both.")]
    try:
        cleaned = _filters_clean(filters)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        cleaned = {}
    if errors:
        raise ValidationError(errors)
    search = SavedSearch(user=user, name=(name or "").strip() or text[:100], text=text, kind=kind, filters=cleaned)
    if not search.name:
        search.name = _("All entries")
    with transaction.atomic(durable=True):
        # One saver at a time per user, so the limit holds under concurrent requests.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if SavedSearch.objects.filter(user=user).count() >= MAX_SAVED_SEARCHES:
            raise ValidationError(
                {"name": _("You can keep at most %(n)d saved searches; delete one first.") % {"n": MAX_SAVED_SEARCHES}}
            )
        if SavedSearch.objects.filter(user=user, name=search.name).exists():
            raise ValidationError({"name": _("You already have a saved search with this name.")})
        search.full_clean(validate_constraints=False)  # the one constraint was checked just above
        search.save()
    return search


def saved_search_delete(*, user: User, saved_search: SavedSearch) -> None:
    if saved_search.user_id != user.pk:
        raise PermissionDenied(_("You can only delete your own saved searches."))
    with transaction.atomic(durable=True):
        SavedSearch.objects.filter(pk=saved_search.pk, user=user).delete()
