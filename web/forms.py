"""Forms of the web pages. They collect and check input; the services decide and write.

Entry forms draw their inputs from the model (``kb.content.EntrySpec``: lengths, choices, ranges)
and turn their cleaned data into the entry's content with ``to_content``, through the parser the
API and the import use (``kb.content.entry_content``); a ``ValidationError`` from it or from the
service is shown on the field it names.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.formsets import BaseFormSet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Membership, NotificationEmail
from core.attachments import AttachmentKind
from kb.content import NEED_SPEC, OFFER_SPEC, EntryContent, EntrySpec, entry_content, required_errors
from kb.models import (
    Country,
    Language,
    Modality,
    Organisation,
    Region,
    TAType,
    ThematicArea,
    UncacArticle,
    UncacChapter,
    content_language_code,
)
from matching.models import (
    MAX_MESSAGE_LENGTH,
    MAX_MISSION_LABEL_LENGTH,
    MAX_MISSIONS,
    MAX_OUTCOME_NOTE_LENGTH,
    OutcomeResult,
)
from web.widgets import IsoDateField

if TYPE_CHECKING:  # django-stubs-ext is a development requirement
    from django_stubs_ext import StrPromise

#: After the six UN languages, the language most often written in this knowledge base besides
#: them (Lusophone States), then every other ISO 639-1 language by name.
FIRST_OTHER_LANGUAGES = ("pt",)


def _language_choices() -> list[tuple[StrPromise, list[tuple[str, str]]]]:
    """The text-language picker: the UN languages, then the others, each group by name in the
    reader's language."""
    un: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for lang in Language.objects.all():
        (un if lang.is_un_language else others).append((lang.code, lang.display_name))
    un.sort(key=lambda choice: choice[1].casefold())
    others.sort(key=lambda choice: (choice[0] not in FIRST_OTHER_LANGUAGES, choice[1].casefold()))
    return [(_("UN official languages"), un), (_("Other languages"), others)]


_F = TypeVar("_F", bound=forms.Field)


def _field(form: forms.BaseForm, name: str, kind: type[_F]) -> _F:
    """``form.fields[name]`` as the kind of field it is declared as: the stubs type ``fields`` as
    ``dict[str, Field]``, so a choice field's ``choices`` or a model field's ``queryset`` is read
    through this."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is a {type(field).__name__}, not a {kind.__name__}")
    return field


#: A select listing names as written (organisations, people), in any script: its direction follows
#: the chosen name, so a French name on an Arabic page shows its start, not its end.
NAMES = {"dir": "auto"}


class ServiceErrorsMixin(forms.BaseForm):
    """Show a service's ``ValidationError`` on the form: each message beside the field it names,
    or at the top of the form when the service names a field the form does not have.

    Mixed into a ``forms.Form`` (``class MessageForm(ServiceErrorsMixin, forms.Form)``); it
    derives from ``BaseForm`` for the attributes it uses, and adds nothing else."""

    def add_service_errors(self, error: ValidationError) -> None:
        if not self.is_bound:  # showing why a stored entry cannot be submitted, on its edit form
            self.cleaned_data = {}
            self.errors  # noqa: B018 - builds the (empty) error dict of an unbound form
        by_field: Iterable[tuple[str | None, list[str]]] = (
            error.message_dict.items() if hasattr(error, "error_dict") else [(None, error.messages)]
        )
        for field, messages in by_field:
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)


class KeywordsField(forms.Field):
    """Keywords typed in one text input, separated by commas or lines; cleaned into a list of
    words (``kb.content`` checks them). A plain ``Field`` with the text input: a ``CharField``'s
    ``to_python`` gives a text, and its null-character check would read the list's ``repr``."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> list[str]:
        text = "" if value in self.empty_values else str(value)
        return [word.strip() for word in text.replace("\n", ",").split(",") if word.strip()]

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value


class ContentChoiceField(forms.ChoiceField):
    """Offers the choices; whether a value is one is ``kb.content``'s to say (the API's and the
    import's message)."""

    def valid_value(self, value: Any) -> bool:
        return True


class ContentMultipleChoiceField(forms.MultipleChoiceField):
    """As ``ContentChoiceField``, for the related rows' codes (articles, types, languages...)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(**kwargs)

    def valid_value(self, value: Any) -> bool:
        return True


class RequiredContentMixin(forms.Field):
    """A required field of the content (``EntrySpec.required``): drawn as required (the browser's
    ``required``), but a blank value is passed on, for ``kb.content``'s rule and message, the API's
    and the import's (``EntryForm.clean``)."""

    def validate(self, value: Any) -> None:
        if value not in self.empty_values:
            super().validate(value)


class RequiredContentCharField(RequiredContentMixin, forms.CharField):
    pass


class RequiredContentChoiceField(RequiredContentMixin, ContentChoiceField):
    pass


def _text(spec: EntrySpec, name: str, **kwargs: Any) -> forms.CharField:
    """A text input as long as the model's field (its ``maxlength``; the same message as the model's)."""
    kind = RequiredContentCharField if name in spec.required else forms.CharField
    return kind(max_length=spec.max_length(name), **kwargs)


def _number(spec: EntrySpec, name: str, **kwargs: Any) -> forms.IntegerField:
    low, high = spec.limits(name)
    return forms.IntegerField(min_value=low, max_value=high, initial=spec.model_field(name).default, **kwargs)


def _choice(spec: EntrySpec, name: str, **kwargs: Any) -> ContentChoiceField:
    return ContentChoiceField(choices=spec.choices(name), initial=spec.model_field(name).default, **kwargs)


#: The fields offers and needs share are the abstract entry's: either spec reads their limits.
_SHARED = NEED_SPEC


class EntryForm(ServiceErrorsMixin, forms.Form):
    """Fields shared by offers and needs; ``to_content`` hands them over as the entry's content."""

    spec: EntrySpec = _SHARED

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=_("Organisation"), widget=forms.Select(attrs=NAMES)
    )
    title = _text(_SHARED, "title", label=_("Title"))
    description = _text(_SHARED, "description", label=_("Description"), widget=forms.Textarea)
    language = RequiredContentChoiceField(label=_("Language of this text"))
    articles = ContentMultipleChoiceField(label=_("UNCAC articles"))
    ta_types = ContentMultipleChoiceField(label=_("Types of assistance"))
    thematic_areas = ContentMultipleChoiceField(label=_("Thematic areas"))
    keywords = KeywordsField(label=_("Keywords"), required=False, help_text=_("Separated by commas."))
    working_languages = ContentMultipleChoiceField(
        label=_("Working languages"),
        help_text=_("Languages the work can be done in; the text's language if none is chosen."),
    )
    contact_person = forms.ChoiceField(
        label=_("Contact person"),
        required=False,
        widget=forms.Select(attrs=NAMES),
        help_text=_("A member of the organisation; shown to signed-in users only."),
    )

    def __init__(
        self,
        *args: Any,
        organisations: QuerySet[Organisation] | None = None,
        editing: bool = False,
        contacts: Collection[Membership] = (),
        **kwargs: Any,
    ) -> None:
        """``contacts``: the memberships that may be the contact person (``entry_contact_choices``,
        or when creating, those of the organisations offered)."""
        super().__init__(*args, **kwargs)
        several = len({m.organisation_id for m in contacts}) > 1
        _field(self, "contact_person", forms.ChoiceField).choices = [("", _("None"))] + [
            (m.user.email, f"{m.user.get_full_name()} ({m.organisation.name})" if several else m.user.get_full_name())
            for m in contacts
        ]
        if editing:
            del self.fields["organisation"]
        else:
            _field(self, "organisation", forms.ModelChoiceField).queryset = (
                organisations if organisations is not None else Organisation.objects.none()
            )
        _field(self, "language", forms.ChoiceField).choices = _language_choices()
        if not self.initial.get("language"):
            # A focal point usually writes in the language they read the app in.
            self.initial["language"] = content_language_code()
        _field(self, "articles", forms.ChoiceField).choices = [
            (str(a.number), str(a)) for a in UncacArticle.objects.all()
        ]
        _field(self, "ta_types", forms.ChoiceField).choices = [
            (t.code, t.label) for t in TAType.objects.filter(is_active=True)
        ]
        _field(self, "thematic_areas", forms.ChoiceField).choices = [
            (t.code, t.label) for t in ThematicArea.objects.filter(is_active=True)
        ]
        languages = list(Language.objects.filter(is_un_language=True))
        current = set(self.initial.get("working_languages") or []) | set(
            self.data.getlist("working_languages") if hasattr(self.data, "getlist") else []
        )
        languages += list(Language.objects.filter(code__in=current - {lang.code for lang in languages}))
        _field(self, "working_languages", forms.ChoiceField).choices = [
            (lang.code, lang.display_name) for lang in languages
        ]

    def chapters(self) -> list[tuple[UncacChapter, list[tuple[str, str, bool]], bool]]:
        """Articles grouped by chapter, for the article picker."""
        selected = set(self["articles"].value() or [])
        groups: list[tuple[UncacChapter, list[tuple[str, str, bool]], bool]] = []
        for chapter in UncacChapter.objects.prefetch_related("articles"):
            articles = [(str(a.number), str(a), str(a.number) in selected) for a in chapter.articles.all()]
            groups.append((chapter, articles, any(checked for _n, _l, checked in articles)))
        return groups

    def clean(self) -> dict[str, Any]:
        """A required field of the content left blank is refused here, with the fields' own checks
        (all reported at once), by ``kb.content``'s rule and with its message."""
        super().clean()
        data = self.cleaned_data
        given = {name: data[name] for name in self.spec.required if name in data}
        for name, messages in required_errors(self.spec, given).items():
            self.add_error(name, messages)
        return data

    def to_content(self) -> EntryContent:
        """The cleaned input as the entry's content (``kb.content``: the API's and the import's
        rules); a ``ValidationError`` names the fields, for ``add_service_errors``."""
        data = {name: self.cleaned_data[name] for name in self.spec.fields if name in self.cleaned_data}
        if not data.get("working_languages"):
            data.pop("working_languages", None)  # none chosen: the text's language (a new entry)
        return entry_content(self.spec, data)


class OfferForm(EntryForm):
    spec = OFFER_SPEC

    modalities = ContentMultipleChoiceField(label=_("Modalities"))
    regions_served = ContentMultipleChoiceField(label=_("Regions served"), help_text=_("None: every region."))
    capacity = _number(OFFER_SPEC, "capacity", label=_("Capacity (engagements per year)"))
    cost_arrangement = _choice(OFFER_SPEC, "cost_arrangement", label=_("Cost arrangement"))
    contact_name = _text(OFFER_SPEC, "contact_name", label=_("Contact name"), required=False)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "modalities", forms.ChoiceField).choices = [
            (m.code, m.label) for m in Modality.objects.filter(is_active=True)
        ]
        _field(self, "regions_served", forms.ChoiceField).choices = [
            (r.m49_code, r.display_name) for r in Region.objects.filter(kind="region")
        ]


class NeedForm(EntryForm):
    spec = NEED_SPEC

    priority = _choice(NEED_SPEC, "priority", label=_("Priority"))
    south_south = _choice(NEED_SPEC, "south_south", label=_("South-South cooperation"))
    providers_wanted = _number(NEED_SPEC, "providers_wanted", label=_("Providers wanted"))
    timeframe_start = IsoDateField(label=_("Desired start"), required=False)
    timeframe_end = IsoDateField(label=_("Desired end"), required=False)
    source_reference = _text(
        NEED_SPEC,
        "source_reference",
        label=_("Source"),
        required=False,
        help_text=_("E.g. the country review executive summary."),
    )


class AttachmentForm(ServiceErrorsMixin, forms.Form):
    """A document to attach; its content is checked by the service (``core.attachments``)."""

    file = forms.FileField(label=_("Document"), max_length=500)
    kind = forms.ChoiceField(label=_("Kind of document"))

    def __init__(self, *args: Any, kinds: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "kind", forms.ChoiceField).choices = [(k, AttachmentKind(k).label) for k in kinds]
        self.fields["file"].help_text = _(
            "PDF, Word, Excel, PowerPoint, OpenDocument, plain text or an image; at most %(size)s."
        ) % {"size": filesizeformat(settings.ATTACHMENT_MAX_SIZE)}


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Rating"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)], widget=forms.RadioSelect
    )
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class MessageForm(ServiceErrorsMixin, forms.Form):
    # No max_length here: the service refuses a longer message with an error naming the field.
    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 4, "dir": "auto", "maxlength": MAX_MESSAGE_LENGTH}),
        help_text=_("Read by both sides' focal points and the secretariat only."),
    )


class DatesForm(ServiceErrorsMixin, forms.Form):
    start_date = IsoDateField(label=_("Start date"), required=False)
    end_date = IsoDateField(label=_("End date"), required=False)

    def clean(self) -> dict[str, Any]:
        # Form.clean returns cleaned_data; the stubs type its result ``dict | None`` (an override
        # may return None), so the clean methods here read the attribute, typed ``dict[str, Any]``.
        super().clean()
        data = self.cleaned_data
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", _("End date: it is before the start date."))
        return data


class MissionForm(forms.Form):
    date = IsoDateField(label=_("Mission date"), required=False)
    label = forms.CharField(
        label=_("Mission"),
        required=False,
        max_length=MAX_MISSION_LABEL_LENGTH,
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("label") and not data.get("date") and "date" not in self.errors:
            self.add_error("date", _("Mission date: give the date of this mission."))
        if data.get("date") and not (data.get("label") or "").strip():
            self.add_error("label", _("Mission: give it a short label."))
        return data


MissionFormSet = forms.formset_factory(MissionForm, extra=2, max_num=MAX_MISSIONS, validate_max=True)


def missions_of(formset: BaseFormSet[MissionForm]) -> list[dict[str, Any]]:
    """The rows of a valid mission formset that say something (blank rows are dropped)."""
    return [
        {"date": row["date"], "label": row["label"]}
        for row in (form.cleaned_data for form in formset.forms)
        if row.get("date") or row.get("label")
    ]


class OutcomeForm(ServiceErrorsMixin, forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=OutcomeResult.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("What was delivered"),
        required=False,
        max_length=MAX_OUTCOME_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
    )


class NotificationEmailForm(ServiceErrorsMixin, forms.Form):
    notification_email = forms.ChoiceField(
        label=_("Notification e-mails"), choices=NotificationEmail.choices, widget=forms.RadioSelect
    )


class InviteForm(ServiceErrorsMixin, forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    full_name = forms.CharField(label=_("Full name"), required=False, max_length=200)
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.select_related("country"),
        widget=forms.Select(attrs=NAMES),
    )
    provider = forms.BooleanField(label=_("Provider focal point (offers expertise)"), required=False)
    recipient = forms.BooleanField(label=_("Recipient focal point (posts needs)"), required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not (data.get("provider") or data.get("recipient")):
            raise ValidationError(_("Choose at least one role."))
        return data


class AcceptInvitationForm(ServiceErrorsMixin, forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(label=_("Password (again)"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class AccessRequestForm(ServiceErrorsMixin, forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Work e-mail address"))
    organisation = forms.ModelChoiceField(
        label=_("Your organisation"),
        queryset=Organisation.objects.select_related("country"),
        required=False,
        widget=forms.Select(attrs=NAMES),
    )
    organisation_name = forms.CharField(label=_("Or its name, if it is not listed"), required=False, max_length=200)
    country = forms.ModelChoiceField(
        label=pgettext_lazy("country", "State"), queryset=Country.objects.all(), required=False
    )
    wants_provider = forms.BooleanField(label=_("We want to offer expertise"), required=False)
    wants_recipient = forms.BooleanField(label=_("We want to post needs"), required=False)
    message = forms.CharField(
        label=_("Message to the secretariat"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("organisation") and not data.get("organisation_name"):
            self.add_error("organisation", _("Choose your organisation or give its name."))
        if data.get("organisation_name") and not data.get("organisation") and not data.get("country"):
            self.add_error("country", _("Give the State of the organisation."))
        if not (data.get("wants_provider") or data.get("wants_recipient")):
            raise ValidationError(_("Say whether you want to offer expertise, post needs, or both."))
        return data
