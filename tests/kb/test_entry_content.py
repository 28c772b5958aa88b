"""An entry's input contract has one home (``kb/content.py``): the API, the web form and the import
build the same ``EntryContent`` through ``entry_content``, so the same bad value is refused with the
same message, naming the field, on every path; and the limits are the model fields' own."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from kb.apis.serializers import NeedInputSerializer, OfferInputSerializer
from kb.content import DATE_INVALID, NEED_SPEC, OFFER_SPEC, entry_content, required_message, spec_for
from kb.models import AssistanceNeed, ExpertiseOffer
from kb.services.entries import entry_update, need_create, offer_create
from kb.services.importing import entries_import
from web.forms import NeedForm, OfferForm

pytestmark = pytest.mark.django_db

API = {
    "offer": {"title": "Asset declaration verification", "description": "A course.", "language": "en"},
    "need": {"title": "Whistle-blower protection", "description": "A law.", "language": "fr"},
}
FORM = {
    "offer": {**API["offer"], "capacity": "1", "cost_arrangement": "provider_funded"},
    "need": {**API["need"], "priority": "medium", "south_south": "none", "providers_wanted": "1"},
}
LINE = {
    "offer": {"kind": "offer", "external_id": "O1", "country": "CIV", "organisation": "HABG", **API["offer"]},
    "need": {"kind": "need", "external_id": "N1", "country": "CIV", **API["need"]},
}


def _without(data: dict, names) -> dict:
    return {name: value for name, value in data.items() if name not in names}


def api_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    errors: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        errors.setdefault(error["attr"], []).append(error["detail"])
    return errors


def via_api(actor, kind: str, fields: dict, without=()) -> dict[str, list[str]]:
    payload = _without({**API[kind], "organisation": actor.organisation.pk, **fields}, without)
    return api_errors(actor.client.post(reverse(f"kb-api:{kind}-list"), payload, format="json"))


def via_form(actor, kind: str, fields: dict, without=()) -> dict[str, list[str]]:
    client = Client()
    client.force_login(actor.user)
    data = _without({**FORM[kind], "organisation": actor.organisation.pk, **fields}, without)
    response = client.post(reverse("web:entry-create", args=[kind]), data)
    assert response.status_code == 200, response.status_code  # the form again, with its errors
    return {field: list(messages) for field, messages in response.context["form"].errors.items()}


def via_import(kind: str, fields: dict, without=()) -> dict[str, list[str]]:
    report = entries_import(lines=[json.dumps(_without({**LINE[kind], **fields}, without))])
    errors: dict[str, list[str]] = {}
    for error in report.errors:
        errors.setdefault(error.key, []).append(error.reason)
    return errors


def the_parsers_errors(kind: str, fields: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        entry_content(kind, {**API[kind], **fields})
    return caught.value.message_dict


TITLE_MAX = ExpertiseOffer._meta.get_field("title").max_length

# (kind, field, the API's value, the form's value, the file's key and value or None: not in the format)
CASES = [
    ("offer", "title", "x" * (TITLE_MAX + 1), "x" * (TITLE_MAX + 1), ("title", "x" * (TITLE_MAX + 1))),
    ("need", "articles", [8, 99], ["8", "99"], ("uncac_articles", [8, 99])),
    ("offer", "ta_types", ["wizardry"], ["wizardry"], ("ta_types", ["wizardry"])),
    ("offer", "language", "xx", "xx", ("language", "xx")),
    ("need", "priority", "urgent", "urgent", ("priority", "urgent")),
    ("offer", "capacity", 1001, "1001", ("capacity", 1001)),
    ("offer", "keywords", ["k" * 101], "k" * 101, ("keywords", ["k" * 101])),
    ("need", "timeframe_start", "03/12/2027", "03/12/2027", None),
]


@pytest.mark.parametrize(("kind", "field", "api_value", "form_value", "line"), CASES, ids=[c[1] for c in CASES])
def test_the_same_bad_value_gets_the_same_error_naming_the_field_on_every_path(
    kind, field, api_value, form_value, line, civ
):
    expected = the_parsers_errors(kind, {field: api_value})[field]
    assert via_api(civ, kind, {field: api_value})[field] == expected
    assert via_form(civ, kind, {field: form_value})[field] == expected
    if line is not None:
        key, value = line
        assert via_import(kind, {key: value})[key] == expected
    model = ExpertiseOffer if kind == "offer" else AssistanceNeed
    assert not model.objects.exists()


REQUIRED = [("offer", "title"), ("need", "title"), ("offer", "description"), ("need", "language")]


@pytest.mark.parametrize(("kind", "field"), REQUIRED, ids=[f"{kind}-{field}" for kind, field in REQUIRED])
def test_a_required_field_left_out_or_blank_gets_the_same_error_naming_it_on_every_path(kind, field, civ):
    expected = [required_message(spec_for(kind), field)]
    assert expected[0].startswith(str(spec_for(kind).model_field(field).verbose_name).capitalize())
    assert the_parsers_errors(kind, {field: ""})[field] == expected
    assert the_parsers_errors(kind, {field: "   "})[field] == expected
    with pytest.raises(ValidationError) as caught:
        entry_content(kind, _without(API[kind], {field}), whole=True)
    assert caught.value.message_dict == {field: expected}
    entry_content(kind, _without(API[kind], {field}))  # a partial content may leave it out
    for blank in ("", "  ", None):
        assert via_api(civ, kind, {field: blank}) == {field: expected}, blank
    assert via_api(civ, kind, {}, without={field}) == {field: expected}
    for blank in ("", "  "):
        assert via_form(civ, kind, {field: blank}) == {field: expected}, blank
    assert via_form(civ, kind, {}, without={field}) == {field: expected}
    assert via_import(kind, {}, without={field}) == {field: expected}
    assert via_import(kind, {field: None}) == {field: expected}
    if field != "title":  # a blank title on a line is the description's first sentence
        assert via_import(kind, {field: " "}) == {field: expected}
    model = ExpertiseOffer if kind == "offer" else AssistanceNeed
    assert not model.objects.exists()


def test_a_blank_required_field_is_reported_with_the_other_mistakes_at_once(civ):
    title = required_message(OFFER_SPEC, "title")
    api = via_api(civ, "offer", {"title": "", "articles": ["eight"]}, without={"language"})
    assert api["title"] == [title]
    assert api["language"] == [required_message(OFFER_SPEC, "language")]
    assert any(attr.startswith("articles") for attr in api), api  # the list's own check, in the same answer
    form = via_form(civ, "offer", {"title": "", "capacity": "many"})
    assert form["title"] == [title]
    assert "capacity" in form  # the form field's own check, in the same answer
    assert not ExpertiseOffer.objects.exists()


def test_a_partial_update_may_leave_a_required_field_out_but_not_blank_it(civ):
    from tests.factories import NeedFactory, OfferFactory

    offer = OfferFactory(organisation=civ.organisation)
    need = NeedFactory(organisation=civ.organisation)
    offer_url = reverse("kb-api:offer-detail", kwargs={"pk": offer.pk})
    need_url = reverse("kb-api:need-detail", kwargs={"pk": need.pk})
    for field, blank in (("title", ""), ("description", None), ("language", " ")):
        response = civ.client.patch(offer_url, {field: blank}, format="json")
        assert api_errors(response) == {field: [required_message(OFFER_SPEC, field)]}, field
    response = civ.client.patch(need_url, {"title": "", "description": "Still a law."}, format="json")
    assert api_errors(response) == {"title": [required_message(NEED_SPEC, "title")]}
    # A whole replacement (PUT) is a whole content: what it leaves out is refused.
    response = civ.client.put(offer_url, _without(API["offer"], {"description"}), format="json")
    assert api_errors(response) == {"description": [required_message(OFFER_SPEC, "description")]}
    before = (offer.title, offer.description, offer.language_id, need.title, need.description)
    offer.refresh_from_db()
    need.refresh_from_db()
    assert (offer.title, offer.description, offer.language_id, need.title, need.description) == before
    assert civ.client.patch(offer_url, {"capacity": 3}, format="json").status_code == 200
    offer.refresh_from_db()
    assert offer.capacity == 3


def test_the_form_still_draws_the_required_fields_as_required_for_the_browser(civ):
    from kb.models import Organisation

    form = OfferForm(organisations=Organisation.objects.filter(pk=civ.organisation.pk))
    for name in ("title", "description"):  # Django draws a select as required only with a blank choice
        assert " required" in str(form[name]), name
    assert form.fields["language"].required
    assert OFFER_SPEC.required == NEED_SPEC.required == {"title", "description", "language"}


def test_a_service_given_a_new_entry_without_a_required_field_refuses_it_with_the_same_message(civ):
    content = entry_content("offer", _without(API["offer"], {"language"}))
    with pytest.raises(ValidationError) as caught:
        offer_create(actor=civ.user, organisation=civ.organisation, content=content)
    assert caught.value.message_dict["language"] == [required_message(OFFER_SPEC, "language")]
    assert not ExpertiseOffer.objects.exists()


def test_a_bad_date_and_an_end_before_the_start_read_the_same_from_the_api_and_the_form(civ):
    bad = {"timeframe_start": "2027-13-01"}
    assert via_api(civ, "need", bad)["timeframe_start"] == [str(DATE_INVALID)]
    assert via_form(civ, "need", bad)["timeframe_start"] == [str(DATE_INVALID)]
    backwards = {"timeframe_start": "2027-06-01", "timeframe_end": "2027-01-01"}
    expected = the_parsers_errors("need", backwards)["timeframe_end"]
    assert "desired end" in expected[0].lower()  # the model's own constraint message
    assert via_api(civ, "need", backwards)["timeframe_end"] == expected
    assert via_form(civ, "need", backwards)["timeframe_end"] == expected
    assert not AssistanceNeed.objects.exists()


def test_the_limits_are_the_model_fields():
    for spec, form, serializer in (
        (OFFER_SPEC, OfferForm, OfferInputSerializer),
        (NEED_SPEC, NeedForm, NeedInputSerializer),
    ):
        fields = serializer().fields
        for name in ("title", "description"):
            limit = spec.model._meta.get_field(name).max_length
            assert form.base_fields[name].max_length == limit
            assert fields[name].max_length == limit  # documented in the schema
    assert OFFER_SPEC.limits("capacity") == (0, 1000)
    assert NEED_SPEC.limits("providers_wanted") == (1, 10)
    assert (OfferForm.base_fields["capacity"].min_value, OfferForm.base_fields["capacity"].max_value) == (0, 1000)
    assert (
        NeedForm.base_fields["source_reference"].max_length
        == AssistanceNeed._meta.get_field("source_reference").max_length
    )
    assert list(NeedForm.base_fields["priority"].choices) == list(AssistanceNeed._meta.get_field("priority").choices)
    assert list(OfferInputSerializer().fields["cost_arrangement"].choices) == [
        value for value, _label in ExpertiseOffer._meta.get_field("cost_arrangement").choices
    ]
    # The parser refuses one character past the model's length and accepts the length itself.
    assert entry_content("offer", {"title": "x" * TITLE_MAX})["title"] == "x" * TITLE_MAX
    with pytest.raises(ValidationError) as caught:
        entry_content("offer", {"title": "x" * (TITLE_MAX + 1)})
    assert str(TITLE_MAX) in caught.value.message_dict["title"][0]


def test_content_holds_real_values_only_for_the_fields_given():
    content = entry_content(
        "need",
        {
            "timeframe_start": "2027-03-12",
            "timeframe_end": dt.date(2027, 12, 31),
            "articles": ["9", 5, 9],
            "title": " T ",
        },
    )
    assert dict(content) == {
        "title": "T",
        "articles": (5, 9),
        "timeframe_start": dt.date(2027, 3, 12),
        "timeframe_end": dt.date(2027, 12, 31),
    }
    assert content.ids["articles"] == (5, 9)
    assert content.as_json()["timeframe_start"] == "2027-03-12"
    with pytest.raises(ValidationError) as caught:
        entry_content("need", {"capacity": 3, "status": "published"})  # an offer's field; not content
    assert set(caught.value.message_dict) == {"capacity", "status"}


def test_the_api_hands_the_service_a_date_not_a_string(civ):
    response = civ.client.post(
        reverse("kb-api:need-list"),
        {**API["need"], "organisation": civ.organisation.pk, "timeframe_start": "2027-03-12"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert AssistanceNeed.objects.get().timeframe_start == dt.date(2027, 3, 12)


def test_services_take_only_the_content_of_their_kind(civ):
    need = need_create(actor=civ.user, organisation=civ.organisation, content=entry_content("need", API["need"]))
    with pytest.raises(TypeError):
        entry_update(actor=civ.user, entry=need, content=entry_content("offer", {"title": "An offer's content"}))
    with pytest.raises(TypeError):
        offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("need", API["need"]))
    need.refresh_from_db()
    assert need.title == API["need"]["title"]


def test_an_import_reads_each_table_of_codes_once_whatever_its_length(civ):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kb.interchange import parse_lines

    line = {**LINE["offer"], "uncac_articles": [5, 9], "ta_types": ["capacity_building"], "languages": ["en", "fr"]}
    counts = []
    for n in (1, 30):
        lines = [json.dumps({**line, "external_id": f"O{i}"}) for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            assert not parse_lines(lines, publish=False).errors
        counts.append(len(queries))
    assert counts[0] == counts[1]
