"""The entries API: cross-State permissions on every endpoint, mass assignment, the error shape."""

from __future__ import annotations

import pytest
from django.urls import reverse

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


def url(kind: str, pk: int | None = None, action: str | None = None) -> str:
    if pk is None:
        return reverse(f"kb-api:{kind}-list")
    if action is None:
        return reverse(f"kb-api:{kind}-detail", kwargs={"pk": pk})
    return reverse(f"kb-api:{kind}-{action}", kwargs={"pk": pk})


def make(kind: str, actor, **extra):
    data = {**OFFER, **extra}
    if kind == "offer":
        return offer_create(actor=actor.user, organisation=actor.organisation, content=entry_content("offer", data))
    return need_create(actor=actor.user, organisation=actor.organisation, content=entry_content("need", data))


def publish(entry, owner, moderator):
    entry_transition(actor=owner.user, entry=entry, action="submit")
    return entry_transition(actor=moderator.user, entry=entry, action="publish")


def assert_error(response, status: int, code: str | None = None, attr: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["errors"], body
    for item in body["errors"]:
        assert set(item) == {"code", "detail", "attr"}
    if code:
        assert code in {e["code"] for e in body["errors"]}, body
    if attr:
        assert attr in {e["attr"] for e in body["errors"]}, body


KINDS = ["offer", "need"]


@pytest.mark.parametrize("kind", KINDS)
def test_anonymous_requests_are_refused(kind, anonymous_client, civ):
    entry = make(kind, civ)
    assert_error(anonymous_client.get(url(kind)), 401, "not_authenticated")
    assert_error(anonymous_client.get(url(kind, entry.pk)), 401)


@pytest.mark.parametrize("kind", KINDS)
def test_create_then_read_own_draft(kind, civ):
    payload = {**OFFER, "organisation": civ.organisation.pk, "articles": [8], "thematic_areas": ["asset_declarations"]}
    response = civ.client.post(url(kind), payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["articles"] == [8]
    assert body["is_mine"] is True
    assert body["allowed_actions"] == ["submit"]
    assert civ.client.get(body["url"]).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
def test_another_states_draft_is_a_404_everywhere(kind, civ, kor):
    entry = make(kind, civ)
    client = kor.client
    assert client.get(url(kind, entry.pk)).status_code == 404
    assert client.patch(url(kind, entry.pk), {"title": "Hijack"}, format="json").status_code == 404
    assert client.put(url(kind, entry.pk), {**OFFER}, format="json").status_code == 404
    assert client.delete(url(kind, entry.pk)).status_code == 404
    for action in ("submit", "withdraw", "archive", "restore", "publish", "return", "unpublish", "history"):
        method = client.get if action == "history" else client.post
        assert method(url(kind, entry.pk, action)).status_code == 404, action
    listed = [e["id"] for e in client.get(url(kind)).json()["results"]]
    assert entry.pk not in listed
    entry.refresh_from_db()
    assert entry.title == OFFER["title"]
    assert entry.status == EntryStatus.DRAFT


@pytest.mark.parametrize("kind", KINDS)
def test_outsider_sees_published_entries_only(kind, civ, outsider, moderator):
    draft = make(kind, civ)
    published = publish(make(kind, civ, title="Published one"), civ, moderator)
    ids = [e["id"] for e in outsider.client.get(url(kind)).json()["results"]]
    assert published.pk in ids
    assert draft.pk not in ids
    body = outsider.client.get(url(kind, published.pk)).json()
    assert body["is_mine"] is False
    assert body["allowed_actions"] == []
    assert body["pending_changes"] is None


@pytest.mark.parametrize("kind", KINDS)
def test_another_state_cannot_change_a_published_entry(kind, civ, kor, moderator):
    entry = publish(make(kind, civ), civ, moderator)
    assert_error(kor.client.patch(url(kind, entry.pk), {"title": "Hijack"}, format="json"), 403, "permission_denied")
    assert_error(kor.client.delete(url(kind, entry.pk)), 403)
    assert_error(kor.client.post(url(kind, entry.pk, "archive")), 403)
    assert_error(kor.client.post(url(kind, entry.pk, "unpublish"), {"reason": "x"}, format="json"), 403)
    entry.refresh_from_db()
    assert (entry.title, entry.status) == (OFFER["title"], EntryStatus.PUBLISHED)


@pytest.mark.parametrize("kind", KINDS)
def test_colleague_in_same_organisation_can_work_on_the_draft(kind, civ, civ_colleague):
    entry = make(kind, civ)
    response = civ_colleague.client.patch(url(kind, entry.pk), {"title": "Improved"}, format="json")
    assert response.status_code == 200, response.content
    assert civ_colleague.client.post(url(kind, entry.pk, "submit")).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
def test_full_lifecycle_through_the_api(kind, civ, moderator):
    entry = make(kind, civ)
    assert civ.client.post(url(kind, entry.pk, "submit")).json()["status"] == "submitted"
    assert_error(civ.client.post(url(kind, entry.pk, "publish")), 403)
    assert_error(moderator.client.post(url(kind, entry.pk, "return")), 400, attr="reason")
    body = moderator.client.post(
        url(kind, entry.pk, "return"), {"reason": "Say who the audience is."}, format="json"
    ).json()
    assert body["moderation_state"] == "returned"
    assert civ.client.get(url(kind, entry.pk)).json()["moderation_reason"] == "Say who the audience is."
    civ.client.patch(url(kind, entry.pk), {"description": "For auditors."}, format="json")
    civ.client.post(url(kind, entry.pk, "submit"))
    body = moderator.client.post(url(kind, entry.pk, "publish")).json()
    assert body["status"] == "published"

    # Editing the published entry proposes changes; everyone else still sees the published text.
    body = civ.client.patch(url(kind, entry.pk), {"title": "Renamed"}, format="json").json()
    assert body["title"] == OFFER["title"]
    assert body["moderation_state"] == "published_changes_submitted"
    assert body["pending_changes"]["title"] == "Renamed"
    assert moderator.client.post(url(kind, entry.pk, "publish")).json()["title"] == "Renamed"

    assert civ.client.post(url(kind, entry.pk, "archive")).json()["status"] == "archived"
    history = civ.client.get(url(kind, entry.pk, "history")).json()["results"]
    assert [h["action"] for h in history][:3] == ["archive", "publish", "propose_changes"]


@pytest.mark.parametrize("kind", KINDS)
def test_illegal_transition_is_a_409_naming_the_allowed_states(kind, civ, moderator):
    entry = make(kind, civ)
    response = moderator.client.post(url(kind, entry.pk, "publish"))
    assert_error(response, 409, "illegal_transition")
    assert "possible from: “Submitted for review”" in response.json()["errors"][0]["detail"]


@pytest.mark.parametrize("kind", KINDS)
def test_mass_assignment_is_refused_and_changes_nothing(kind, civ, kor):
    entry = make(kind, civ)
    for field, value in [
        ("status", "published"),
        ("organisation", kor.organisation.pk),
        ("country", "KOR"),
        ("published_at", "2020-01-01T00:00:00Z"),
        ("created_by", kor.user.pk),
        ("external_id", "HIJACK"),
        ("row_version", 99),
        ("pending_revision", {"title": "x"}),
    ]:
        response = civ.client.patch(url(kind, entry.pk), {field: value}, format="json")
        assert_error(response, 400, attr=field)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT
    assert entry.organisation_id == civ.organisation.pk
    assert entry.external_id.startswith("ta-")


@pytest.mark.parametrize("kind", KINDS)
def test_create_with_status_is_refused(kind, civ):
    payload = {**OFFER, "organisation": civ.organisation.pk, "status": "published"}
    assert_error(civ.client.post(url(kind), payload, format="json"), 400, attr="status")
    model = ExpertiseOffer if kind == "offer" else None
    if model:
        assert not model.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_cannot_create_for_another_organisation(kind, civ, kor):
    payload = {**OFFER, "organisation": kor.organisation.pk}
    assert_error(civ.client.post(url(kind), payload, format="json"), 403, "permission_denied")


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_names_the_field(kind, civ):
    payload = {**OFFER, "organisation": civ.organisation.pk, "articles": [8, 99], "language": "xx"}
    response = civ.client.post(url(kind), payload, format="json")
    assert_error(response, 400, attr="articles")  # kb.content's check, the web form's and the import's
    payload = {**OFFER, "organisation": civ.organisation.pk, "thematic_areas": ["nope"], "language": "xx"}
    response = civ.client.post(url(kind), payload, format="json")
    assert_error(response, 400)
    attrs = {e["attr"] for e in response.json()["errors"]}
    assert {"thematic_areas", "language"} <= attrs


def test_delete_draft_and_refuse_deleting_published(civ, moderator):
    draft = make("offer", civ)
    assert civ.client.delete(url("offer", draft.pk)).status_code == 204
    published = publish(make("offer", civ), civ, moderator)
    assert_error(civ.client.delete(url("offer", published.pk)), 409, "not_editable")


def test_editing_a_submitted_entry_is_a_409(civ):
    entry = make("offer", civ)
    civ.client.post(url("offer", entry.pk, "submit"))
    assert_error(civ.client.patch(url("offer", entry.pk), {"title": "x"}, format="json"), 409, "not_editable")


def test_pagination_caps_the_page_size(civ, moderator):
    for i in range(3):
        publish(make("offer", civ, title=f"Offer {i}"), civ, moderator)
    body = civ.client.get(url("offer"), {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]
    body = civ.client.get(url("offer"), {"page_size": 100000}).json()
    assert len(body["results"]) == 3  # capped at API_MAX_PAGE_SIZE, and no error


def test_filters(civ, kor, moderator):
    a = publish(make("offer", civ, title="Declarations", articles=[8], ta_types=["capacity_building"]), civ, moderator)
    b = publish(
        make(
            "offer",
            kor,
            title="Procurement",
            articles=[9],
            ta_types=["technology"],
            thematic_areas=["public_procurement"],
        ),
        kor,
        moderator,
    )

    def ids(**params):
        return {e["id"] for e in civ.client.get(url("offer"), params).json()["results"]}

    assert ids(article=8) == {a.pk}
    assert ids(chapter=2) == {a.pk, b.pk}
    assert ids(country="KOR") == {b.pk}
    assert ids(region="Africa") == {a.pk}
    assert ids(regional_group="asia_pacific") == {b.pk}
    assert ids(ta_type="capacity_building") == {a.pk}
    assert ids(thematic_area="public_procurement") == {b.pk}
    assert ids(mine="true") == {a.pk}
    draft = make("offer", civ)
    civ.client.post(url("offer", draft.pk, "submit"))
    assert {e["id"] for e in moderator.client.get(url("offer"), {"awaiting_moderation": "true"}).json()["results"]} == {
        draft.pk
    }


def test_list_does_not_run_a_query_per_entry(civ, moderator, django_assert_max_num_queries):
    for i in range(15):
        make("offer", civ, title=f"Offer {i}", articles=[8, 9], ta_types=["capacity_building"])
    client = moderator.client
    with django_assert_max_num_queries(14):
        response = client.get(url("offer"), {"page_size": 15})
    assert len(response.json()["results"]) == 15


def test_history_shows_who_did_what(civ, moderator):
    entry = make("need", civ)
    civ.client.post(url("need", entry.pk, "submit"))
    moderator.client.post(url("need", entry.pk, "return"), {"reason": "More detail"}, format="json")
    history = civ.client.get(url("need", entry.pk, "history")).json()["results"]
    assert history[0]["action"] == "return"
    assert history[0]["reason"] == "More detail"
    assert history[0]["actor"] == moderator.user.email


def test_writes_are_throttled(civ, monkeypatch):
    from django.core.cache import cache

    from core.api.throttling import WriteRateThrottle

    cache.clear()
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"writes": "2/min"})
    payload = {**OFFER, "organisation": civ.organisation.pk}
    assert civ.client.post(url("offer"), payload, format="json").status_code == 201
    assert civ.client.post(url("offer"), payload, format="json").status_code == 201
    assert_error(civ.client.post(url("offer"), payload, format="json"), 429, "throttled")
    assert civ.client.get(url("offer")).status_code == 200  # reads are not throttled
    cache.clear()


@pytest.mark.parametrize("kind", KINDS)
def test_submitting_an_incomplete_draft_names_the_missing_fields(kind, civ):
    draft = make(kind, civ, articles=[], ta_types=[])
    response = civ.client.post(url(kind, draft.pk, "submit"))
    assert_error(response, 400, attr="articles")
    assert_error(response, 400, attr="ta_types")
    draft.refresh_from_db()
    assert draft.status == EntryStatus.DRAFT
