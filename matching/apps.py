from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = _("Matching")

    def ready(self) -> None:
        from accounts.services import register_moderator_permissions
        from kb.services.effects import register_entry_change_hook, register_entry_change_recorder
        from matching.hooks import entries_changed, entries_recorded

        register_entry_change_recorder(entries_recorded)
        register_entry_change_hook(entries_changed)
        register_moderator_permissions(
            "matching",
            [
                "view_matchrun", "add_matchrun", "change_matchrun", "view_matchcandidate", "view_needoutcome",
                "view_engagement", "change_engagement", "view_engagementevent", "view_engagementrating",
                "view_matchingsettings", "change_matchingsettings", "view_corpusstats",
            ],
        )  # fmt: skip
