"""Creating and editing organisations (moderators, through the API or the admin)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from kb.models import Country, Organisation, OrganisationKind


def organisation_create(
    *,
    name: str,
    country: Country | None = None,
    kind: str = OrganisationKind.OTHER,
    acronym: str = "",
    website: str = "",
) -> Organisation:
    with transaction.atomic(durable=True):
        organisation = Organisation(name=name, country=country, kind=kind, acronym=acronym, website=website)
        organisation.full_clean()
        organisation.save()
        return organisation


def organisation_update(*, organisation: Organisation, **changes: Any) -> Organisation:
    with transaction.atomic(durable=True):
        for key, value in changes.items():
            setattr(organisation, key, value)
        organisation.full_clean()
        organisation.save()
        return organisation
