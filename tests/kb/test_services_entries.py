"""Creating, editing and deleting entries: ownership, validation, nothing half-written."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kb.content import entry_content
from kb.exceptions import EntryNotEditable
from kb.models import AssistanceNeed, EntryEvent, EntryStatus, ExpertiseOffer, Organisation
from kb.services.entries import entry_delete, entry_update, need_create, offer_create
from kb.services.moderation import entry_transition

pytestmark = pytest.mark.django_db

OFFER = {
    "title": "Corruption risk assessment for public bodies",
    "description": "Training and tools to run corruption risk assessments.",
    "language": "en",
    "articles": [5, 9],
    "ta_types": ["capacity_building"],
    "thematic_areas": ["corruption_risk_assessment"],
    "keywords": ["CRA", "integrity"],
    "working_languages": ["en", "ru"],
    "modalities": ["training_course"],
    "capacity": 4,
}


def test_provider_creates_a_draft_offer_with_its_tags(civ):
    offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    assert offer.status == EntryStatus.DRAFT
    assert offer.organisation == civ.organisation
    assert offer.created_by == civ.user
    assert sorted(a.number for a in offer.articles.all()) == [5, 9]
    assert [m.code for m in offer.modalities.all()] == ["training_course"]
    assert offer.external_id.startswith("ta-offer-")
    assert EntryEvent.objects.filter(offer=offer, action="created").exists()


def test_working_languages_default_to_the_text_language(civ):
    data = {k: v for k, v in OFFER.items() if k != "working_languages"}
    offer = offer_create(
        actor=civ.user, organisation=civ.organisation, content=entry_content("offer", {**data, "language": "fr"})
    )
    assert [lang.code for lang in offer.working_languages.all()] == ["fr"]


def test_cannot_create_for_another_organisation(civ, kor):
    with pytest.raises(PermissionDenied):
        offer_create(actor=civ.user, organisation=kor.organisation, content=entry_content("offer", OFFER))
    assert not ExpertiseOffer.objects.filter(organisation=kor.organisation).exists()


def test_recipient_only_focal_point_cannot_offer(db):
    from tests.conftest import _focal_point

    recipient = _focal_point("PRY", provider=False, recipient=True)
    with pytest.raises(PermissionDenied):
        offer_create(actor=recipient.user, organisation=recipient.organisation, content=entry_content("offer", OFFER))


def test_provider_only_focal_point_cannot_post_needs(bra_provider):
    with pytest.raises(PermissionDenied):
        need_create(
            actor=bra_provider.user,
            organisation=bra_provider.organisation,
            content=entry_content("need", {"title": "x", "description": "y", "language": "pt"}),
        )


def test_need_cannot_belong_to_an_international_organisation(db):
    from tests.factories import MembershipFactory

    unodc = Organisation.objects.create(name="UNODC", country=None)
    member = MembershipFactory(organisation=unodc)
    with pytest.raises(ValidationError) as excinfo:
        need_create(
            actor=member.user,
            organisation=unodc,
            content=entry_content("need", {"title": "x", "description": "y", "language": "en"}),
        )
    assert "organisation" in excinfo.value.message_dict


@pytest.mark.parametrize(
    ("field", "value", "message_part"),
    [
        ("title", "", "title: this field is required"),  # kb.content's message for every required field
        ("title", "x" * 201, "200"),
        ("language", "xx", "Unknown language"),
        ("articles", [8, 99], "99"),
        ("ta_types", ["capacity_building", "wizardry"], "wizardry"),
        ("thematic_areas", ["nope"], "nope"),
        ("modalities", ["teleportation"], "teleportation"),
        ("capacity", -1, "0"),
        ("keywords", ["ok", ""], "non-empty"),
        ("contact_email", "not-an-email", "email"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(civ, field, value, message_part):
    with pytest.raises(ValidationError) as excinfo:
        offer_create(
            actor=civ.user, organisation=civ.organisation, content=entry_content("offer", {**OFFER, field: value})
        )
    errors = excinfo.value.message_dict
    assert field in errors, errors
    assert message_part.lower() in " ".join(errors[field]).lower()
    assert not ExpertiseOffer.objects.exists()
    assert not EntryEvent.objects.exists()


def test_unknown_fields_are_rejected(civ):
    with pytest.raises(ValidationError) as excinfo:
        offer_create(
            actor=civ.user,
            organisation=civ.organisation,
            content=entry_content("offer", {**OFFER, "status": "published"}),
        )
    assert "status" in excinfo.value.message_dict
    assert not ExpertiseOffer.objects.exists()


def test_need_timeframe_must_be_ordered(civ):
    with pytest.raises(ValidationError) as excinfo:
        need_create(
            actor=civ.user,
            organisation=civ.organisation,
            content=entry_content(
                "need",
                {
                    "title": "t",
                    "description": "d",
                    "language": "fr",
                    "timeframe_start": "2027-06-01",
                    "timeframe_end": "2027-01-01",
                },
            ),
        )
    assert "desired end" in str(excinfo.value).lower()
    assert not AssistanceNeed.objects.exists()


def test_owner_edits_a_draft_in_place(civ, civ_colleague):
    offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    entry_update(actor=civ_colleague.user, entry=offer, content=entry_content(offer, {"capacity": 10, "articles": [8]}))
    offer.refresh_from_db()
    assert offer.capacity == 10
    assert [a.number for a in offer.articles.all()] == [8]


def test_another_state_cannot_edit_or_delete(civ, kor):
    offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    with pytest.raises(PermissionDenied):
        entry_update(actor=kor.user, entry=offer, content=entry_content(offer, {"title": "Hijacked"}))
    with pytest.raises(PermissionDenied):
        entry_delete(actor=kor.user, entry=offer)
    offer.refresh_from_db()
    assert offer.title == OFFER["title"]


def test_failed_edit_leaves_the_entry_untouched(civ):
    offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    with pytest.raises(ValidationError):
        entry_update(
            actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Valid new title", "articles": [72]})
        )
    offer.refresh_from_db()
    assert offer.title == OFFER["title"]
    assert sorted(a.number for a in offer.articles.all()) == [5, 9]


def test_submitted_entries_are_frozen_until_withdrawn(civ):
    offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    entry_transition(actor=civ.user, entry=offer, action="submit")
    with pytest.raises(EntryNotEditable):
        entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Sneaky edit"}))
    entry_transition(actor=civ.user, entry=offer, action="withdraw")
    entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Proper edit"}))
    offer.refresh_from_db()
    assert offer.title == "Proper edit"


def test_only_never_published_drafts_can_be_deleted(civ, moderator):
    offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    entry_transition(actor=civ.user, entry=offer, action="submit")
    entry_transition(actor=moderator.user, entry=offer, action="publish")
    with pytest.raises(EntryNotEditable):
        entry_delete(actor=civ.user, entry=offer)
    draft = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    pk = draft.pk
    entry_delete(actor=civ.user, entry=draft)
    assert not ExpertiseOffer.objects.filter(pk=pk).exists()
    assert EntryEvent.objects.filter(entry_kind="offer", entry_id=pk, action="deleted").exists()


def test_needs_without_organisation_belong_to_their_state(civ, kor):
    from kb.models import Country, Language
    from kb.selectors import need_can_manage

    need = AssistanceNeed.objects.create(
        country=Country.objects.get(iso3="CIV"), title="t", description="d", language=Language.objects.get(code="fr")
    )
    assert need_can_manage(user=civ.user, need=need)
    assert not need_can_manage(user=kor.user, need=need)
