"""factory_boy factories. Reference data (States, taxonomy) is loaded once per test session."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import Membership, User
from kb.models import (
    AssistanceNeed,
    Country,
    EntryStatus,
    ExpertiseOffer,
    Language,
    Organisation,
    OrganisationKind,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.django.Password("pass-word-123")


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Anti-corruption agency {n}")
    country = factory.LazyFunction(lambda: Country.objects.get(iso3="CIV"))
    kind = OrganisationKind.ANTI_CORRUPTION_AGENCY


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    is_provider_focal_point = True
    is_recipient_focal_point = True


class OfferFactory(DjangoModelFactory):
    """An offer row written directly (tests of services create through the services)."""

    class Meta:
        model = ExpertiseOffer
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"Training on asset declarations {n}")
    description = "A week-long course on verifying asset declarations of public officials."
    language = factory.LazyFunction(lambda: Language.objects.get(code="en"))
    status = EntryStatus.DRAFT
    external_id = factory.Sequence(lambda n: f"OFF-{n}")
    capacity = 2

    @factory.post_generation
    def published(obj, create, extracted, **kwargs):
        if extracted:
            obj.status = EntryStatus.PUBLISHED
            obj.published_at = obj.updated_at
            obj.save()


class NeedFactory(DjangoModelFactory):
    """A need row written directly."""

    class Meta:
        model = AssistanceNeed
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    country = factory.LazyAttribute(lambda o: o.organisation.country)
    title = factory.Sequence(lambda n: f"Support for asset declaration verification {n}")
    description = "We need help to verify asset declarations of senior officials."
    language = factory.LazyFunction(lambda: Language.objects.get(code="en"))
    status = EntryStatus.DRAFT
    external_id = factory.Sequence(lambda n: f"NEED-{n}")

    @factory.post_generation
    def published(obj, create, extracted, **kwargs):
        if extracted:
            obj.status = EntryStatus.PUBLISHED
            obj.published_at = obj.updated_at
            obj.save()
