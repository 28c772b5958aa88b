"""Models of the knowledge base, split by concern (reference data, organisations, entries, search)."""

from kb.models.entries import (
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
from kb.models.search_sync import SearchOutbox, SearchSyncState
from kb.models.vectors import EntryVector

__all__ = [
    "AssistanceNeed",
    "CostArrangement",
    "Country",
    "EntryAction",
    "EntryEvent",
    "EntryKind",
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
    "SearchOutbox",
    "SearchSyncState",
    "SouthSouthPreference",
    "TAType",
    "ThematicArea",
    "UncacArticle",
    "UncacChapter",
    "content_language_code",
]
