"""The web forms on their own: service errors shown on a form, the keywords input, the cross-field
rules of each ``clean``, the mission rows a formset hands over, and the checked field accessor."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.core.exceptions import ValidationError

from kb.models import Organisation
from web.forms import (
    AcceptInvitationForm,
    AccessRequestForm,
    AttachmentForm,
    DatesForm,
    InviteForm,
    KeywordsField,
    MissionForm,
    MissionFormSet,
    OfferForm,
    _field,
    missions_of,
)


def test_service_errors_go_beside_their_field_or_to_the_top():
    form = AcceptInvitationForm({"full_name": "Ana", "password": "pass-phrase", "password_again": "pass-phrase"})
    assert form.is_valid()
    form.add_service_errors(ValidationError({"password": "Too common.", "token": "This link has expired."}))
    form.add_service_errors(ValidationError("The organisation is closed."))
    assert form.errors["password"] == ["Too common."]
    assert form.non_field_errors() == ["This link has expired.", "The organisation is closed."]


def test_service_errors_show_on_an_unbound_form_which_stays_unbound():
    """The edit page of a stored entry that cannot be submitted: nothing was posted."""
    form = AcceptInvitationForm(initial={"full_name": "Ana"})
    form.add_service_errors(ValidationError({"full_name": "Give your full name.", "token": "Expired."}))
    assert not form.is_bound
    assert form.errors["full_name"] == ["Give your full name."]
    assert form.non_field_errors() == ["Expired."]
    assert 'value="Ana"' in str(form["full_name"])


class _KeywordsForm(forms.Form):
    keywords = KeywordsField(required=False)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("forensic, audit", ["forensic", "audit"]),
        (" forensic ,\naudit\n\n, asset declarations ,", ["forensic", "audit", "asset declarations"]),
        ("", []),
        (" , \n ", []),
    ],
)
def test_keywords_are_split_on_commas_and_lines(typed, words):
    form = _KeywordsForm({"keywords": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["keywords"] == words


def test_stored_keywords_are_shown_joined_in_one_text_input():
    rendered = str(_KeywordsForm(initial={"keywords": ["integrity", "audit"]})["keywords"])
    assert 'type="text"' in rendered
    assert 'value="integrity, audit"' in rendered
    assert "maxlength" not in rendered  # each keyword's length is kb.content's rule


@pytest.mark.django_db
def test_a_keyword_that_cannot_be_stored_is_refused_beside_the_keywords(civ):
    """The form passes the words on; the entry content's rule refuses them, naming the field."""
    form = OfferForm(
        {
            "organisation": civ.organisation.pk, "title": "Forensic accounting", "description": "Two weeks.",
            "language": "en", "capacity": "3", "cost_arrangement": "cost_sharing", "keywords": "audit, in\x00tegrity",
        },
        organisations=Organisation.objects.filter(pk=civ.organisation.pk),
    )  # fmt: skip
    assert form.is_valid(), form.errors
    with pytest.raises(ValidationError) as refused:
        form.to_content()
    form.add_service_errors(refused.value)
    assert form.errors["keywords"] == ["A keyword contains a character that cannot be stored."]


def test_dates_end_before_start_is_refused_on_the_end_date():
    form = DatesForm({"start_date": "2027-03-15", "end_date": "2027-03-14"})
    assert not form.is_valid()
    assert form.errors == {"end_date": ["End date: it is before the start date."]}
    assert DatesForm({"start_date": "2027-03-15", "end_date": "2027-03-15"}).is_valid()


@pytest.mark.parametrize(
    ("row", "errors"),
    [
        ({"label": "Scoping"}, {"date": ["Mission date: give the date of this mission."]}),
        ({"date": "2027-03-15", "label": "  "}, {"label": ["Mission: give it a short label."]}),
        (
            {"date": "15/03/2027", "label": "Scoping"},
            {"date": ["Enter the date as year-month-day, for example 2027-03-15."]},
        ),
        ({"date": "2027-03-15", "label": "Scoping"}, {}),
        ({}, {}),
    ],
)
def test_a_mission_row_needs_both_its_date_and_its_label(row, errors):
    form = MissionForm(row)
    assert form.is_valid() == (errors == {})
    assert form.errors == errors


def test_the_missions_of_a_formset_are_its_filled_rows():
    formset = MissionFormSet(
        {
            "missions-TOTAL_FORMS": "3", "missions-INITIAL_FORMS": "0",
            "missions-0-date": "", "missions-0-label": "",
            "missions-1-date": "2027-03-15", "missions-1-label": "Scoping",
            "missions-2-date": "", "missions-2-label": "",
        },
        prefix="missions",
    )  # fmt: skip
    assert formset.is_valid(), formset.errors
    assert missions_of(formset) == [{"date": dt.date(2027, 3, 15), "label": "Scoping"}]


def test_an_invitation_gives_at_least_one_role():
    form = InviteForm({"email": "ana@example.org"})
    assert not form.is_valid()
    assert form.non_field_errors() == ["Choose at least one role."]


def test_the_two_passwords_must_match():
    form = AcceptInvitationForm({"full_name": "Ana", "password": "pass-phrase", "password_again": "pass-phrose"})
    assert not form.is_valid()
    assert form.errors == {"password_again": ["The two passwords differ."]}


@pytest.mark.django_db
def test_an_access_request_names_its_organisation_its_state_and_what_it_wants():
    form = AccessRequestForm({"full_name": "Ana", "email": "ana@example.org"})
    assert not form.is_valid()
    assert form.errors["organisation"] == ["Choose your organisation or give its name."]
    assert form.non_field_errors() == ["Say whether you want to offer expertise, post needs, or both."]
    named = AccessRequestForm(
        {
            "full_name": "Ana",
            "email": "ana@example.org",
            "organisation_name": "Anti-corruption office",
            "wants_provider": "on",
        }
    )
    assert not named.is_valid()
    assert named.errors == {"country": ["Give the State of the organisation."]}


def test_the_field_accessor_names_a_field_of_another_kind():
    form = AttachmentForm(kinds=["mission_report"])
    assert _field(form, "kind", forms.ChoiceField) is form.fields["kind"]
    with pytest.raises(TypeError, match="AttachmentForm.file is a FileField, not a ChoiceField"):
        _field(form, "file", forms.ChoiceField)


@pytest.mark.django_db
def test_selects_of_names_take_the_direction_of_the_chosen_name():
    """An organisation's or a person's name is written in its own script: on an Arabic page a French
    name must show its start, so these selects are dir="auto" (the languages and codes are not)."""
    for form in (InviteForm(), AccessRequestForm()):
        assert 'dir="auto"' in str(form["organisation"])
    offer = OfferForm(organisations=Organisation.objects.all(), contacts=[])
    assert 'dir="auto"' in str(offer["organisation"])
    assert 'dir="auto"' in str(offer["contact_person"])
    assert 'dir="auto"' not in str(offer["language"])
