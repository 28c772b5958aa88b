from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = _("Matching")

    def ready(self) -> None:
        from accounts.services import register_moderator_permissions
        from kb.signals import entries_changing, entry_features_ready, entry_moderated, saved_searches_matched
        from matching import checks  # noqa: F401  (registers the start-up checks)
        from matching.receivers import (
            notify_entry_moderated,
            notify_saved_search_matches,
            record_rescore_requests,
            rescore_changed_entries,
        )

        entries_changing.connect(record_rescore_requests, dispatch_uid="matching.rescore-requests")
        entry_features_ready.connect(rescore_changed_entries, dispatch_uid="matching.rescore")
        entry_moderated.connect(notify_entry_moderated, dispatch_uid="matching.moderation-notifications")
        saved_searches_matched.connect(notify_saved_search_matches, dispatch_uid="matching.saved-search-alerts")
        register_moderator_permissions(
            "matching",
            [
                "view_matchrun", "add_matchrun", "change_matchrun", "view_matchcandidate", "view_needoutcome",
                "view_engagement", "change_engagement", "view_engagementevent", "view_engagementrating",
                "view_matchingsettings", "change_matchingsettings", "view_corpusstats",
            ],
        )  # fmt: skip
