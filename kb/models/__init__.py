"""Models of the knowledge base, split by concern (reference data, organisations, entries, search)."""

from kb.models.attachments import NEED_ATTACHMENT_KINDS, OFFER_ATTACHMENT_KINDS, EntryAttachment
from kb.models.entries import (
    MAX_DESCRIPTION_LENGTH,
    MAX_TITLE_LENGTH,
    AssistanceNeed,
    CostArrangement,
    EntryAction,
    EntryEvent,
    EntryKind,
    EntryStatus,
    ExpertiseOffer,
    KnowledgeEntry,
    ModerationState,
    Priority,
    RevisionStatus,
    SouthSouthPreference,
)
from kb.models.organisations import Organisation, OrganisationKind
from kb.models.reference import (
    Country,
    Language,
    Modality,
    Region,
    RegionalGroup,
    RegionKind,
    TAType,
    ThematicArea,
    UncacArticle,
    UncacChapter,
    content_language_code,
)
from kb.models.saved_searches import SavedSearch, SavedSearchAlert
from kb.models.search_sync import SearchOutbox, SearchSyncState
from kb.models.terms import EntryTerms
from kb.models.vectors import EntryVector

__all__ = [
    "NEED_ATTACHMENT_KINDS",
    "OFFER_ATTACHMENT_KINDS",
    "EntryAttachment",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_TITLE_LENGTH",
    "AssistanceNeed",
    "CostArrangement",
    "Country",
    "EntryAction",
    "EntryEvent",
    "EntryKind",
    "EntryTerms",
    "EntryVector",
    "EntryStatus",
    "ExpertiseOffer",
    "KnowledgeEntry",
    "Language",
    "Modality",
    "ModerationState",
    "Organisation",
    "OrganisationKind",
    "Priority",
    "Region",
    "RegionKind",
    "RegionalGroup",
    "RevisionStatus",
    "SavedSearch",
    "SavedSearchAlert",
    "SearchOutbox",
    "SearchSyncState",
    "SouthSouthPreference",
    "TAType",
    "ThematicArea",
    "UncacArticle",
    "UncacChapter",
    "content_language_code",
]
