"""Web pages: who may open what (another State's draft is a 404, moderator pages are moderators'
only), the forms' inline errors, invitations and access requests, the dashboard and its CSVs."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AccessRequest, Invitation, User
from kb.content import entry_content
from kb.models import EntryStatus, ExpertiseOffer
from kb.services.entries import need_create, offer_create
from kb.services.moderation import entry_transition

pytestmark = pytest.mark.django_db

OFFER = {
    "title": "Asset declaration verification",
    "description": "A course for verifiers.",
    "language": "en",
    "articles": [8],
    "ta_types": ["capacity_building"],
}


def browser(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def make(kind, actor, **extra):
    data = {**OFFER, **extra}
    create = offer_create if kind == "offer" else need_create
    return create(actor=actor.user, organisation=actor.organisation, content=entry_content(kind, data))


def publish(entry, owner, moderator):
    entry_transition(actor=owner.user, entry=entry, action="submit")
    return entry_transition(actor=moderator.user, entry=entry, action="publish")


SIGNED_IN_PAGES = [
    "web:home",
    "web:account",
    "web:notifications",
    "web:browse",
    "web:my-entries",
    "web:inbox",
    "web:runs",
]
MODERATOR_PAGES = ["web:dashboard", "web:people", "web:invite"]


@pytest.mark.parametrize("name", SIGNED_IN_PAGES + MODERATOR_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(name, client):
    response = client.get(reverse(name))
    if name == "web:home":
        assert response.status_code == 200
        assert b"Sign in" in response.content
    else:
        assert response.status_code == 302
        assert reverse("login") in response["Location"]


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_pages_open(name, civ):
    assert browser(civ).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", MODERATOR_PAGES)
def test_moderator_pages_are_for_moderators(name, civ, moderator):
    assert browser(civ).get(reverse(name)).status_code == 403
    assert browser(moderator).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("kind", ["offer", "need"])
def test_another_states_draft_is_a_404_on_every_page(kind, civ, kor):
    entry = make(kind, civ)
    client = browser(kor)
    assert client.get(reverse("web:entry", args=[kind, entry.pk])).status_code == 404
    assert client.get(reverse("web:entry-edit", args=[kind, entry.pk])).status_code == 404
    assert client.post(reverse("web:entry-action", args=[kind, entry.pk, "submit"])).status_code == 404
    assert client.post(reverse("web:entry-action", args=[kind, entry.pk, "delete"])).status_code == 404
    if kind == "need":
        assert client.get(reverse("web:need-matches", args=[entry.pk])).status_code == 404
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT


@pytest.mark.parametrize("kind", ["offer", "need"])
def test_published_entries_are_readable_but_not_editable_by_others(kind, civ, kor, moderator):
    entry = publish(make(kind, civ), civ, moderator)
    client = browser(kor)
    page = client.get(reverse("web:entry", args=[kind, entry.pk]))
    assert page.status_code == 200
    assert OFFER["title"].encode() in page.content
    assert reverse("web:entry-edit", args=[kind, entry.pk]).encode() not in page.content
    assert client.get(reverse("web:entry-edit", args=[kind, entry.pk])).status_code == 403
    client.post(reverse("web:entry-action", args=[kind, entry.pk, "archive"]))
    entry.refresh_from_db()
    assert entry.status == EntryStatus.PUBLISHED


def test_create_an_offer_with_inline_errors_then_submit(civ):
    client = browser(civ)
    url = reverse("web:entry-create", args=["offer"])
    page = client.get(url)
    assert page.status_code == 200
    assert b'details class="chapter"' in page.content  # the article picker, grouped by chapter
    bad = client.post(
        url,
        {
            "organisation": civ.organisation.pk,
            "title": "",
            "description": "",
            "language": "en",
            "capacity": "-1",
            "cost_arrangement": "provider_funded",
        },
    )
    assert bad.status_code == 200
    errors = bad.context["form"].errors
    assert {"title", "description", "capacity"} <= set(errors)
    assert not ExpertiseOffer.objects.exists()
    good = client.post(
        url,
        {
            "organisation": civ.organisation.pk, "title": "Forensic accounting course", "description": "Two weeks.",
            "language": "en", "articles": ["9", "36"], "ta_types": ["capacity_building"], "capacity": "3",
            "cost_arrangement": "cost_sharing", "keywords": "forensic, audit", "submit": "1",
        },
    )  # fmt: skip
    offer = ExpertiseOffer.objects.get()
    assert good.status_code == 302
    assert offer.status == EntryStatus.SUBMITTED
    assert sorted(a.number for a in offer.articles.all()) == [9, 36]
    assert offer.keywords == ["forensic", "audit"]


def test_cannot_create_for_someone_elses_organisation(civ, kor):
    response = browser(civ).post(
        reverse("web:entry-create", args=["offer"]),
        {
            "organisation": kor.organisation.pk,
            "title": "x",
            "description": "y",
            "language": "en",
            "capacity": "1",
            "cost_arrangement": "provider_funded",
        },
    )
    assert response.status_code == 200
    assert "organisation" in response.context["form"].errors
    assert not ExpertiseOffer.objects.exists()


def test_returned_entry_shows_the_moderators_reason(civ, moderator):
    need = make("need", civ)
    entry_transition(actor=civ.user, entry=need, action="submit")
    entry_transition(actor=moderator.user, entry=need, action="return", reason="Add the audience, please.")
    page = browser(civ).get(reverse("web:entry", args=["need", need.pk]))
    assert b"Add the audience, please." in page.content
    assert b"Add the audience, please." in browser(civ).get(reverse("web:home")).content


def test_moderation_actions_are_for_moderators(civ, moderator):
    need = make("need", civ)
    entry_transition(actor=civ.user, entry=need, action="submit")
    browser(civ).post(reverse("web:entry-action", args=["need", need.pk, "publish"]))
    need.refresh_from_db()
    assert need.status == EntryStatus.SUBMITTED
    browser(moderator).post(reverse("web:entry-action", args=["need", need.pk, "publish"]))
    need.refresh_from_db()
    assert need.status == EntryStatus.PUBLISHED


def test_invitation_is_one_time_and_grants_the_role(moderator, civ, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(moderator).post(
            reverse("web:invite"),
            {"email": "new.focal@example.org", "organisation": civ.organisation.pk, "recipient": "on"},
        )
    assert response.status_code == 302
    link = re.search(r"http\S+/accounts/invitations/(\S+)/", mail.outbox[-1].body)
    token = link.group(1)
    url = reverse("invitation-accept", args=[token])
    assert client.get(url).status_code == 200
    weak = client.post(url, {"full_name": "New Focal", "password": "123", "password_again": "123"})
    assert "password" in weak.context["form"].errors
    done = client.post(
        url, {"full_name": "New Focal", "password": "a-Long-pass-phrase-9", "password_again": "a-Long-pass-phrase-9"}
    )
    assert done.status_code == 302
    user = User.objects.get(email="new.focal@example.org")
    membership = user.memberships.get()
    assert (membership.organisation_id, membership.is_recipient_focal_point, membership.is_provider_focal_point) == (
        civ.organisation.pk,
        True,
        False,
    )
    assert Client().get(url).status_code == 410  # used once
    Invitation.objects.update(accepted_at=None, expires_at="2000-01-01T00:00:00Z")
    assert Client().get(url).status_code == 410  # expired


def test_only_moderators_invite(civ):
    assert (
        browser(civ)
        .post(reverse("web:invite"), {"email": "x@example.org", "organisation": civ.organisation.pk, "recipient": "on"})
        .status_code
        == 403
    )
    assert not Invitation.objects.exists()


def test_access_request_approved_or_refused(client, moderator, django_capture_on_commit_callbacks):
    from kb.models import Country

    response = client.post(
        reverse("web:request-access"),
        {
            "full_name": "Ana",
            "email": "ana@example.org",
            "organisation_name": "Oficina Anticorrupción",
            "country": Country.objects.get(iso3="ARG").pk,
            "wants_provider": "on",
        },
    )
    assert response.status_code == 200
    assert b"Thank you" in response.content
    request = AccessRequest.objects.get()
    mod = browser(moderator)
    assert mod.get(reverse("web:people")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        mod.post(reverse("web:decide-request", args=[request.pk, "approve"]))
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.organisation.name == "Oficina Anticorrupción"
    assert Invitation.objects.filter(email="ana@example.org", is_provider_focal_point=True).exists()
    assert "invitations/" in mail.outbox[-1].body

    client.post(
        reverse("web:request-access"),
        {
            "full_name": "Bo",
            "email": "bo@example.org",
            "organisation": request.organisation.pk,
            "wants_recipient": "on",
        },
    )
    second = AccessRequest.objects.get(email="bo@example.org")
    mod.post(reverse("web:decide-request", args=[second.pk, "refuse"]), {"reason": ""})
    second.refresh_from_db()
    assert second.status == "pending"  # a reason is required to refuse
    with django_capture_on_commit_callbacks(execute=True):
        mod.post(
            reverse("web:decide-request", args=[second.pk, "refuse"]), {"reason": "Please apply through your ministry."}
        )
    second.refresh_from_db()
    assert second.status == "refused"
    assert "Please apply through your ministry." in mail.outbox[-1].body


def test_access_request_form_names_missing_fields(client):
    response = client.post(reverse("web:request-access"), {"full_name": "", "email": "not-an-email"})
    errors = response.context["form"].errors
    assert {"full_name", "email"} <= set(errors)
    assert not AccessRequest.objects.exists()


def test_moderators_deactivate_accounts(moderator, civ, kor):
    assert browser(kor).post(reverse("web:set-active", args=[civ.user.pk, "deactivate"])).status_code == 403
    civ_client = browser(civ)
    browser(moderator).post(reverse("web:set-active", args=[civ.user.pk, "deactivate"]))
    civ.user.refresh_from_db()
    assert not civ.user.is_active
    assert civ_client.get(reverse("web:home")).content.count(b"Sign in") >= 1  # signed out on the next request
    browser(moderator).post(reverse("web:set-active", args=[civ.user.pk, "activate"]))
    civ.user.refresh_from_db()
    assert civ.user.is_active


def test_password_reset_sends_a_link(client, civ):
    client.post(reverse("password_reset"), {"email": civ.user.email})
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_language_switch_and_right_to_left(civ):
    client = browser(civ)
    client.post(reverse("set_language"), {"language": "ar", "next": "/"})
    page = client.get(reverse("web:home")).content.decode()
    assert 'dir="rtl"' in page
    assert 'lang="ar"' in page
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    page = client.get(reverse("web:home")).content.decode()
    assert 'dir="ltr"' in page
    assert 'lang="fr"' in page


def test_dashboard_charts_and_csv(moderator, civ, kor):
    publish(make("need", civ, articles=[8]), civ, moderator)
    publish(make("offer", kor, articles=[8, 9]), kor, moderator)
    client = browser(moderator)
    page = client.get(reverse("web:dashboard"))
    assert page.status_code == 200
    assert page.content.count(b"<svg") >= 7
    for name in (
        "chapters",
        "articles",
        "regions",
        "groups",
        "ta_types",
        "heatmap",
        "outcomes",
        "uncovered",
        "south_south",
    ):
        response = client.get(reverse("web:dashboard-csv", args=[name]))
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("text/csv")
    chapters = client.get(reverse("web:dashboard-csv", args=["chapters"])).content.decode("utf-8-sig").splitlines()
    assert chapters[0] == "Code,Label,Needs,Offers,Gap (needs − offers)"
    row = next(line for line in chapters if line.startswith("2,"))
    assert row.endswith(",1,1,0")
    assert browser(civ).get(reverse("web:dashboard-csv", args=["chapters"])).status_code == 403
    assert client.get(reverse("web:dashboard-csv", args=["nope"])).status_code == 404


def test_browse_shows_facets_and_escaped_highlights(moderator, civ, settings, tmp_path):
    settings.SEARCH_BACKEND = "embedded"
    from kb.search import reset_backend

    reset_backend(None)
    publish(make("offer", civ, title="<b>Asset</b> declarations", articles=[8]), civ, moderator)
    page = browser(civ).get(reverse("web:browse"), {"q": "asset declarations"}).content.decode()
    assert "&lt;b&gt;<mark>Asset</mark>&lt;/b&gt;" in page
    assert "UNCAC article" in page


def test_runs_page_and_moderator_start(moderator, civ):
    assert b"Start a full matching run" not in browser(civ).get(reverse("web:runs")).content
    client = browser(moderator)
    client.post(reverse("web:run-start"))
    page = client.get(reverse("web:runs")).content
    assert b"data-refresh" in page  # refreshes itself while the run is active
    from matching.models import MatchRun

    run = MatchRun.objects.get()
    assert browser(civ).post(reverse("web:run-cancel", args=[run.pk])).status_code == 403
    client.post(reverse("web:run-cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_engagement_pages_are_for_the_two_sides(moderator, civ, kor):
    from matching.models import Engagement

    need = publish(make("need", civ), civ, moderator)
    offer = publish(make("offer", kor), kor, moderator)
    engagement = Engagement.objects.create(
        need=need, offer=offer, need_title=need.title, offer_title=offer.title, state="proposed"
    )
    assert browser(civ).get(reverse("web:engagement", args=[engagement.pk])).status_code == 200
    assert browser(kor).get(reverse("web:engagement", args=[engagement.pk])).status_code == 200
    from tests.conftest import _focal_point

    stranger = _focal_point("BRA")
    assert browser(stranger).get(reverse("web:engagement", args=[engagement.pk])).status_code == 404
    browser(kor).post(reverse("web:engagement-act", args=[engagement.pk, "interest"]))
    engagement.refresh_from_db()
    assert engagement.state == "proposed"  # only the recipient expresses interest
    browser(civ).post(reverse("web:engagement-act", args=[engagement.pk, "interest"]))
    engagement.refresh_from_db()
    assert engagement.state == "interested"


def test_dashboard_filters_by_period_region_and_chapter_and_prints(moderator, civ, kor):
    import datetime as dt

    from kb.models import AssistanceNeed

    old = publish(make("need", civ, title="Old need", articles=[8]), civ, moderator)
    AssistanceNeed.objects.filter(pk=old.pk).update(published_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    publish(make("need", kor, title="Asian need", articles=[52]), kor, moderator)
    publish(make("offer", kor, articles=[8, 52]), kor, moderator)
    client = browser(moderator)

    def table(name, **params):
        return {
            r.key: (r.needs, r.offers) for r in client.get(reverse("web:dashboard"), params).context["tables"][name]
        }

    assert table("chapters")["2"] == (1, 1)
    assert table("chapters", since="2021-01-01")["2"] == (0, 1)
    assert table("regions", region=_region("Asia"))["Asia"] == (1, 1)
    assert set(table("regions", region=_region("Asia"))) == {"Asia"}
    assert set(table("chapters", chapter="5")) == {"5"}
    grid = client.get(reverse("web:dashboard"), {"chapter": "2"}).context["grid"]
    assert [a.number for a in grid.articles] == [8]
    africa = next(r for r in grid.regions if r.name == "Africa")
    assert grid.cell(grid.articles[0], africa) == (1, 1)  # the Korean offer names no region: open to all
    bad = client.get(reverse("web:dashboard"), {"since": "2026-02-01", "until": "2026-01-01"})
    assert bad.context["form"].errors["until"]
    report = client.get(reverse("web:dashboard-report"), {"chapter": "2"})
    assert report.status_code == 200
    page = report.content.decode()
    assert '<header class="site"' not in page  # no navigation on the printed report
    assert "data-print" in page
    assert 'class="numbers"' in page  # every chart printed with its numbers
    csv_rows = client.get(reverse("web:dashboard-csv", args=["chapters"]), {"chapter": "2"}).content.decode("utf-8-sig")
    assert len(csv_rows.splitlines()) == 2


def _region(name):
    from kb.models import Region

    return Region.objects.get(name=name).pk
