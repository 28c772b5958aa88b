"""Web pages an attacker probed: CSV formula injection, unknown action names, the two People verbs,
invitations to existing accounts."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, User
from accounts.services import invitation_create
from kb.models import AssistanceNeed, Country, EntryStatus
from tests.factories import NeedFactory, OrganisationFactory, UserFactory
from tests.web.test_views import browser, make

pytestmark = pytest.mark.django_db


def test_dashboard_csv_cells_never_start_a_formula(moderator):
    organisation = OrganisationFactory(country=Country.objects.get(iso3="BFA"))
    hostile = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]
    for title in hostile:
        need = NeedFactory(organisation=organisation, title=title, published=True)
        assert need.status == EntryStatus.PUBLISHED
    response = browser(moderator).get(reverse("web:dashboard-csv", args=["uncovered"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    titles = {row[2] for row in rows[1:]}
    assert titles == {"'" + t for t in hostile}
    assert AssistanceNeed.objects.count() == len(hostile)


@pytest.mark.parametrize(
    "path",
    [
        lambda need, engagement: reverse("web:entry-action", args=["need", need.pk, "frobnicate"]),
        lambda need, engagement: reverse("web:engagement-act", args=[1, "frobnicate"]),
        lambda need, engagement: reverse("web:invitation-act", args=[1, "frobnicate"]),
        lambda need, engagement: reverse("web:decide-request", args=[1, "frobnicate"]),
    ],
)
def test_unknown_web_action_names_are_a_400(path, moderator, civ):
    need = make("need", civ)
    response = browser(moderator).post(path(need, None))
    assert response.status_code == 400
    assert "400" in response.content.decode()


def test_people_accepts_only_its_two_verbs(moderator, civ):
    client = browser(moderator)
    response = client.post(f"/people/{civ.user.pk}/anything/")
    assert response.status_code == 404
    civ.user.refresh_from_db()
    assert civ.user.is_active
    assert client.post(reverse("web:set-active", args=[civ.user.pk, "deactivate"])).status_code == 302
    civ.user.refresh_from_db()
    assert not civ.user.is_active


def test_an_invitation_to_an_existing_account_asks_no_password_and_needs_that_account(
    moderator, civ, django_capture_on_commit_callbacks
):
    import re

    with django_capture_on_commit_callbacks(execute=True):
        _invitation, link = invitation_create(
            actor=moderator.user,
            email="late@example.org",
            organisation=civ.organisation,
            provider=True,
            recipient=False,
        )
    path = re.search(r"(/accounts/invitations/[^/]+/)", link).group(1)
    existing = UserFactory(email="late@example.org")
    anonymous = Client()
    page = anonymous.get(path).content.decode()
    assert 'type="password"' not in page
    assert reverse("login") in page
    response = anonymous.post(
        path, {"full_name": "X", "password": "Taken-over-42!", "password_again": "Taken-over-42!"}
    )
    assert response.status_code == 200
    existing.refresh_from_db()
    assert existing.check_password("pass-word-123")
    assert not Membership.objects.filter(user=existing).exists()
    signed_in = Client()
    signed_in.force_login(existing)
    assert signed_in.post(path).status_code == 302
    assert Membership.objects.get(user=existing).organisation == civ.organisation
    assert Invitation.objects.get().accepted_by == existing
    assert User.objects.filter(email__iexact="late@example.org").count() == 1
