"""Saving and deleting searches (the alerts they raise: ``kb.search.alerts``).

Invariants: a signed-in user saves a search for themself only, with a name unique among theirs;
what is searched arrives parsed (``kb.search.params.SearchParams``: the one parser of the search
API and the Browse page, so a saved search refuses what a search refuses, with the same errors);
a user keeps at most ``MAX_SAVED_SEARCHES``. Only the owner deletes a saved search (someone
else's is not found). Each error names its field.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from kb.models import SavedSearch
from kb.search.params import SearchParams
from kb.validators import validate_storable_text

MAX_SAVED_SEARCHES = 50


def saved_search_create(*, user: User, name: str, params: SearchParams) -> SavedSearch:
    """Save what ``params`` searches for (its text, kind and facet filters; not its page or order)."""
    if not user.is_authenticated:
        raise PermissionDenied(_("Sign in to save a search."))
    name = (name or "").strip()
    try:
        validate_storable_text(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from exc
    text = params.text.strip()
    search = SavedSearch(user=user, name=name or text[:100], text=text, kind=params.kind, filters=params.filters)
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
