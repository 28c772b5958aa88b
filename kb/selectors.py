"""Read-side rules of the knowledge base: who sees what, and querysets scoped to the caller.

Visibility (one rule, also applied by search through owner tokens):
- moderators see every entry;
- every signed-in user sees published entries;
- members of an organisation see all of its entries (drafts, returned, archived...);
- a need without an organisation belongs to its State: the recipient focal points of any
  organisation of that State see it.
Editing additionally needs the role: provider focal point for offers, recipient for needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from kb.models import (
    AssistanceNeed,
    Country,
    EntryAction,
    EntryAttachment,
    EntryEvent,
    EntryStatus,
    ExpertiseOffer,
    KnowledgeEntry,
    Organisation,
    RevisionStatus,
    SavedSearch,
)

if TYPE_CHECKING:  # kb.search reads kb.selectors' scope: imported where used at run time
    from kb.search.query import SearchResults


@dataclass(frozen=True)
class UserScope:
    """What a user's memberships allow; computed once per request."""

    is_moderator: bool
    member_org_ids: frozenset[int]
    provider_org_ids: frozenset[int]
    recipient_org_ids: frozenset[int]
    recipient_country_ids: frozenset[int]
    recipient_country_codes: frozenset[str]

    # The one home of "who acts for whom": every list, filter and page builds its ownership
    # conditions from these (``prefix`` reaches the entry from another model, e.g. "need__").

    def owns(self, model: type[KnowledgeEntry], prefix: str = "") -> Q:
        """Entries of this user's organisations and, for needs, their State's organisation-less
        needs (a State's focal points act for those): "my entries"."""
        mine = Q(**{f"{prefix}organisation_id__in": self.member_org_ids})
        if issubclass(model, AssistanceNeed):
            mine |= self.state_needs(prefix)
        return mine

    def state_needs(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}organisation__isnull": True, f"{prefix}country_id__in": self.recipient_country_ids})

    def acts_as_recipient(self, prefix: str = "need__") -> Q:
        """Needs this user answers for as a recipient focal point."""
        return Q(**{f"{prefix}organisation_id__in": self.recipient_org_ids}) | self.state_needs(prefix)

    def acts_as_provider(self, prefix: str = "offer__") -> Q:
        """Offers this user answers for as a provider focal point."""
        return Q(**{f"{prefix}organisation_id__in": self.provider_org_ids})

    @property
    def owner_tokens(self) -> tuple[str, ...]:
        """Tokens matching the ``owners`` field of search documents this user may see (built by
        ``kb.search.documents._document`` for each document)."""
        return tuple(sorted({f"org:{i}" for i in self.member_org_ids})) + tuple(
            sorted(f"state:{c}" for c in self.recipient_country_codes)
        )


#: The attribute a request's user carries its scope in (computed once per request).
_SCOPE_ATTR = "_ta_scope"


def user_scope(user: User) -> UserScope:
    cached: UserScope | None = getattr(user, _SCOPE_ATTR, None)
    if cached is not None:
        return cached
    memberships = (
        list(Membership.objects.filter(user=user).select_related("organisation__country"))
        if user.is_authenticated
        else []
    )
    recipient = [m for m in memberships if m.is_recipient_focal_point]
    scope = UserScope(
        is_moderator=bool(user.is_authenticated and user.is_moderator),
        member_org_ids=frozenset(m.organisation_id for m in memberships),
        provider_org_ids=frozenset(m.organisation_id for m in memberships if m.is_provider_focal_point),
        recipient_org_ids=frozenset(m.organisation_id for m in recipient),
        recipient_country_ids=frozenset(m.organisation.country_id for m in recipient if m.organisation.country_id),
        recipient_country_codes=frozenset(
            m.organisation.country.iso3 for m in recipient if m.organisation.country is not None
        ),
    )
    setattr(user, _SCOPE_ATTR, scope)
    return scope


def _offer_visibility(scope: UserScope) -> Q:
    return Q(status=EntryStatus.PUBLISHED) | scope.owns(ExpertiseOffer)


def _need_visibility(scope: UserScope) -> Q:
    return Q(status=EntryStatus.PUBLISHED) | scope.owns(AssistanceNeed)


def offer_list_for_user(*, user: User) -> QuerySet[ExpertiseOffer]:
    scope = user_scope(user)
    qs = ExpertiseOffer.objects.select_related(
        "organisation__country", "language", "created_by", "contact_person__user"
    ).prefetch_related(
        "articles", "ta_types", "thematic_areas", "working_languages", "modalities", "regions_served", "attachments"
    )
    return qs if scope.is_moderator else qs.filter(_offer_visibility(scope))


def need_list_for_user(*, user: User) -> QuerySet[AssistanceNeed]:
    scope = user_scope(user)
    qs = AssistanceNeed.objects.select_related(
        "country", "organisation__country", "language", "created_by", "contact_person__user"
    ).prefetch_related("articles", "ta_types", "thematic_areas", "working_languages", "attachments")
    return qs if scope.is_moderator else qs.filter(_need_visibility(scope))


def offer_can_manage(*, user: User, offer: ExpertiseOffer) -> bool:
    """Whether ``user`` acts for the provider organisation of ``offer``."""
    return offer.organisation_id in user_scope(user).provider_org_ids


def need_can_manage(*, user: User, need: AssistanceNeed) -> bool:
    """Whether ``user`` acts for the recipient of ``need`` (its organisation, or its State)."""
    scope = user_scope(user)
    if need.organisation_id:
        return need.organisation_id in scope.recipient_org_ids
    return need.country_id in scope.recipient_country_ids


def _concrete(entry: KnowledgeEntry) -> ExpertiseOffer | AssistanceNeed:
    """``entry`` as the offer or need it is (``KnowledgeEntry`` is abstract)."""
    if isinstance(entry, ExpertiseOffer | AssistanceNeed):
        return entry
    raise TypeError(f"not an offer or a need: {type(entry).__name__}")


def entry_can_manage(*, user: User, entry: KnowledgeEntry) -> bool:
    entry = _concrete(entry)
    if isinstance(entry, ExpertiseOffer):
        return offer_can_manage(user=user, offer=entry)
    return need_can_manage(user=user, need=entry)


def entry_contact_choices(*, entry: KnowledgeEntry) -> QuerySet[Membership]:
    """Who may be an entry's contact person: an active member of its organisation; for a need of
    a State as a whole, an active recipient focal point of that State."""
    organisation_id = getattr(entry, "organisation_id", None)
    if organisation_id:
        memberships = Membership.objects.filter(organisation_id=organisation_id)
    else:
        memberships = Membership.objects.filter(
            organisation__country_id=entry.country_id,  # type: ignore[attr-defined]
            is_recipient_focal_point=True,
        )
    return memberships.filter(user__is_active=True).select_related("user", "organisation").order_by("user__email")


def entry_contact_current(*, entry: KnowledgeEntry) -> Membership | None:
    """The entry's contact person while they still qualify (``entry_contact_choices``: active,
    and a member of the organisation, or a recipient focal point of the State); else ``None``.
    A membership that ends clears the reference itself (``on_delete=SET_NULL``)."""
    membership = entry.contact_person if entry.contact_person_id else None
    if membership is None or not membership.user.is_active:
        return None
    organisation_id = getattr(entry, "organisation_id", None)
    if organisation_id:
        return membership if membership.organisation_id == organisation_id else None
    qualifies = membership.is_recipient_focal_point and (
        membership.organisation.country_id == entry.country_id  # type: ignore[attr-defined]
    )
    return membership if qualifies else None


def entry_contact_for_user(*, user: User, entry: KnowledgeEntry) -> Membership | None:
    """The contact person as ``user`` may know them: signed-in users only, and only while the
    person still acts for the entry (``entry_contact_current``)."""
    if not user.is_authenticated:
        return None
    return entry_contact_current(entry=entry)


def entry_can_view(*, user: User, entry: KnowledgeEntry) -> bool:
    entry = _concrete(entry)
    scope = user_scope(user)
    if scope.is_moderator or entry.status == EntryStatus.PUBLISHED:
        return True
    if entry.organisation_id in scope.member_org_ids:
        return True
    return (
        isinstance(entry, AssistanceNeed)
        and entry.organisation_id is None
        and entry.country_id in scope.recipient_country_ids
    )


def entry_attachments(*, entry: KnowledgeEntry) -> QuerySet[EntryAttachment]:
    """The documents attached to ``entry`` (whoever may read the entry may read them)."""
    field = "offer" if isinstance(entry, ExpertiseOffer) else "need"
    return EntryAttachment.objects.filter(**{field: entry}).select_related("uploaded_by").order_by("created_at", "id")


def entry_attachment_get_for_user(
    *, user: User, kind: str, entry_id: int, attachment_id: int
) -> EntryAttachment | None:
    """One attachment, if ``user`` may read its entry; ``None`` otherwise (a 404, never a 403:
    another State's draft and its files do not exist for its readers)."""
    entries = offer_list_for_user(user=user) if kind == "offer" else need_list_for_user(user=user)
    entry = entries.filter(pk=entry_id).first()
    if entry is None:
        return None
    attachment = entry_attachments(entry=entry).filter(pk=attachment_id).first()
    if attachment is not None:
        setattr(attachment, kind, entry)  # the entry as the reader may see it
    return attachment


def entry_events(*, entry: KnowledgeEntry) -> QuerySet[EntryEvent]:
    field = "offer" if isinstance(entry, ExpertiseOffer) else "need"
    return EntryEvent.objects.filter(**{field: entry}).select_related("actor")


#: What anyone who may read an entry may know of its history: when it was published.
PUBLIC_HISTORY_ACTIONS = (EntryAction.PUBLISHED,)


def entry_history_for_user(*, user: User, entry: KnowledgeEntry) -> tuple[QuerySet[EntryEvent], bool]:
    """The entry's history as ``user`` may read it, and whether it is the full record.

    The full record (every write, who did it, moderators' reasons) is for the entry's focal
    points and moderators; everyone else sees only the public facts (``PUBLIC_HISTORY_ACTIONS``),
    without actors or reasons."""
    events = entry_events(entry=entry)
    if user_scope(user).is_moderator or entry_can_manage(user=user, entry=entry):
        return events, True
    return events.filter(action__in=PUBLIC_HISTORY_ACTIONS), False


@dataclass(frozen=True)
class QueueItem:
    """One entry awaiting a moderator: a new submission, or changes to a published entry."""

    kind: str  # "offer" or "need"
    entry: KnowledgeEntry
    is_change: bool


def moderation_queue(*, user: User, limit: int = 200) -> list[QueueItem]:
    """Offers and needs awaiting review, oldest submission first (moderators only).

    New submissions (``status`` submitted) and submitted changes to published entries
    (``revision_status`` submitted) alike; ``submitted_at`` is set by both submissions."""
    if not user_scope(user).is_moderator:
        raise PermissionDenied(_("Only moderators review submissions."))
    awaiting = Q(status=EntryStatus.SUBMITTED) | Q(revision_status=RevisionStatus.SUBMITTED)
    offers = ExpertiseOffer.objects.filter(awaiting).select_related("organisation__country", "language")
    needs = AssistanceNeed.objects.filter(awaiting).select_related("country", "organisation", "language")
    order = (F("submitted_at").asc(nulls_last=True), "id")
    items = [
        QueueItem("offer", e, e.revision_status == RevisionStatus.SUBMITTED) for e in offers.order_by(*order)[:limit]
    ] + [QueueItem("need", e, e.revision_status == RevisionStatus.SUBMITTED) for e in needs.order_by(*order)[:limit]]
    items.sort(
        key=lambda item: (item.entry.submitted_at is None, item.entry.submitted_at or 0, item.kind, item.entry.pk)
    )
    return items[:limit]


def saved_search_list_for_user(*, user: User) -> QuerySet[SavedSearch]:
    """A user's own saved searches (nobody else's, moderators included)."""
    if not user.is_authenticated:
        return SavedSearch.objects.none()
    return SavedSearch.objects.filter(user=user).order_by("-created_at", "-id")


def organisation_list() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("country")


def country_list() -> QuerySet[Country]:
    return Country.objects.select_related("region", "subregion")


# --- search ----------------------------------------------------------------------------------------


def entry_search(
    *,
    user: User,
    text: str = "",
    kinds: tuple[str, ...] = ("offer", "need"),
    filters: dict[str, list[str]] | None = None,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 25,
) -> SearchResults:
    """Full-text, faceted search over what ``user`` may see (published entries, plus their own
    organisation's unpublished ones; everything for moderators). Reads only: views call
    ``kb.services.search.entries_search``, which first catches up with the outbox."""
    from django.conf import settings
    from django.utils.translation import get_language

    from kb.search import get_backend
    from kb.search.query import SearchRequest

    backend = get_backend()
    scope = user_scope(user)
    ui_language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    request = SearchRequest(
        kinds=kinds,
        text=text,
        filters=filters or {},
        visible_to_owners=None if scope.is_moderator else scope.owner_tokens,
        sort=sort,
        offset=(page - 1) * page_size,
        limit=page_size,
        extra_languages=(ui_language,),
    )
    return backend.search(request)
