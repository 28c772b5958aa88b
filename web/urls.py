"""URLs of the web application (namespace ``web``)."""

from django.urls import path, register_converter

from web.views import accounts, attachments, browse, dashboard, entries, home, matching, moderation, saved_searches


class KindConverter:
    """``offer`` or ``need`` (URLs say /offers/… and /needs/…)."""

    regex = "offer|need"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ActivationConverter(KindConverter):
    """The two verbs of /people/<pk>/…/: anything else is not a URL of the app (404)."""

    regex = "activate|deactivate"


register_converter(KindConverter, "kind")
register_converter(ActivationConverter, "activation")

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("account/", home.account, name="account"),
    path("account/notification-emails/", home.account_notification_email, name="account-notification-email"),
    path("account/tokens/<str:key>/revoke/", home.account_token_revoke, name="token-revoke"),
    path("notifications/", home.notifications, name="notifications"),
    # accounts
    path("people/", accounts.people, name="people"),
    path("people/invite/", accounts.invite, name="invite"),
    path("people/requests/<int:pk>/<str:decision>/", accounts.decide_request, name="decide-request"),
    path("people/invitations/<int:pk>/<str:action>/", accounts.invitation_act, name="invitation-act"),
    path("people/<int:pk>/<activation:active>/", accounts.set_active, name="set-active"),
    path("request-access/", accounts.request_access, name="request-access"),
    # the knowledge base
    path("browse/", browse.browse, name="browse"),
    path("searches/save/", saved_searches.saved_search_save, name="saved-search-save"),
    path("searches/<int:pk>/delete/", saved_searches.saved_search_remove, name="saved-search-delete"),
    path("mine/", entries.my_entries, name="my-entries"),
    path("needs/<int:pk>/matches/", matching.need_matches, name="need-matches"),
    path("needs/<int:need_pk>/interest/<int:offer_pk>/", matching.express_interest, name="express-interest"),
    path("needs/<int:need_pk>/offer-help/", matching.offer_help, name="offer-help"),
    path("<kind:kind>s/new/", entries.entry_create, name="entry-create"),
    path("<kind:kind>s/<int:pk>/", browse.entry_detail, name="entry"),
    path("<kind:kind>s/<int:pk>/edit/", entries.entry_edit, name="entry-edit"),
    path("<kind:kind>s/<int:pk>/delete/", entries.entry_delete_confirm, name="entry-delete"),
    # documents (before the actions: "attachments" is no action)
    path("<kind:kind>s/<int:pk>/attachments/", attachments.entry_attachment_upload, name="entry-attachments"),
    path(
        "<kind:kind>s/<int:pk>/attachments/<int:attachment_pk>/",
        attachments.entry_attachment_download,
        name="entry-attachment",
    ),
    path(
        "<kind:kind>s/<int:pk>/attachments/<int:attachment_pk>/delete/",
        attachments.entry_attachment_remove,
        name="entry-attachment-delete",
    ),
    path("<kind:kind>s/<int:pk>/<str:action>/", entries.entry_action, name="entry-action"),
    # matching
    path("inbox/", matching.inbox, name="inbox"),
    path("engagements/<int:pk>/", matching.engagement, name="engagement"),
    path("engagements/<int:pk>/attachments/", attachments.engagement_attachment_upload, name="engagement-attachments"),
    path(
        "engagements/<int:pk>/attachments/<int:attachment_pk>/",
        attachments.engagement_attachment_download,
        name="engagement-attachment",
    ),
    path(
        "engagements/<int:pk>/attachments/<int:attachment_pk>/delete/",
        attachments.engagement_attachment_remove,
        name="engagement-attachment-delete",
    ),
    path("engagements/<int:pk>/messages/", matching.engagement_message, name="engagement-message"),
    path("engagements/<int:pk>/dates/", matching.engagement_dates, name="engagement-dates"),
    path("engagements/<int:pk>/outcome/", matching.engagement_outcome, name="engagement-outcome"),
    path("engagements/<int:pk>/<str:action>/", matching.engagement_act, name="engagement-act"),
    path("runs/", matching.runs, name="runs"),
    path("runs/start/", matching.run_start, name="run-start"),
    path("runs/<int:pk>/cancel/", matching.run_cancel, name="run-cancel"),
    # the secretariat
    path("moderation/", moderation.queue, name="moderation-queue"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/report/", dashboard.dashboard_report, name="dashboard-report"),
    path("dashboard/<str:name>.csv", dashboard.dashboard_csv, name="dashboard-csv"),
]
