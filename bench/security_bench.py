"""Security bench (issue 14): re-measure what the attack measured, against a live test database.

Prints numbers; asserts nothing (not a timed test). Two parts:

- ``contract``: schemathesis over every operation of the served schema, ``SECURITY_BENCH_EXAMPLES``
  generated requests per operation (25 by default; CI's ``tests/test_contract.py`` uses 4), each sent
  as the four callers of the CI test (focal points of two States, a moderator, anonymous) through
  the WSGI application. Counts requests sent, 5xx answers and schema violations. Throttle buckets are
  emptied between operations so that the write throttle does not hide what the server answers.
- ``authz``: as the focal point of State A, try to read and change every draft (and submitted or
  returned entry) of State B through the API (list, detail, update, delete, actions, history,
  search with facets, engagements) and the web pages (detail, edit, actions, browse, matches).
  Counts attempts and leaks: a 2xx on a read or write of such an entry, its secret title in any
  answer, or the entry changed in the database afterwards.

Run (the test command's services and databases):

    TA_PG_DB=ta_wt14 TA_REDIS_DB=4 bin/test -p no:cacheprovider -q -s bench/security_bench.py

or ``-k contract`` / ``-k authz`` for one part.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, Phase, seed, settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi import checks

from kb.content import entry_content
from kb.search.sync import search_outbox_drain
from kb.services.entries import need_create, offer_create
from kb.services.moderation import entry_transition
from tests.test_contract import (  # noqa: F401 - fixtures reused by name
    NOT_CONTRACT,
    _connection_kept,
    _entries,
    callers,
    schema,
    search_backend_embedded,
)

pytestmark = [pytest.mark.django_db]

EXAMPLES = int(os.environ.get("SECURITY_BENCH_EXAMPLES", "25"))

CONTRACT: Counter = Counter()
AUTHZ: Counter = Counter()
LEAKS: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_throttle_buckets():
    cache.clear()


@schema.parametrize()
@seed(20261204)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_contract(case, callers):  # noqa: F811 - the fixture imported above
    CONTRACT["operations_cases"] += 1
    for name, headers in callers.items():
        response = case.call(headers=headers)
        CONTRACT["requests"] += 1
        CONTRACT[f"status_{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            CONTRACT["server_errors"] += 1
            LEAKS.append(f"5xx {case.method} {case.formatted_path} as {name}: {response.status_code}")
        try:
            # ignored_auth is left out: the callers' tokens are given as explicit headers, which the
            # check cannot tell from the credentials it generated (CI's call_and_validate can);
            # the anonymous caller and the authorisation part below measure what it would.
            case.validate_response(response, excluded_checks=[*NOT_CONTRACT, checks.ignored_auth])
        except (Exception, BaseExceptionGroup) as failure:  # counted, not raised: a measurement
            CONTRACT["violations"] += 1
            LEAKS.append(f"violation {case.method} {case.formatted_path} as {name}: {str(failure)[:200]}")


# --- cross-State authorisation ------------------------------------------------------------------

BASE = {"description": "A course for verifiers.", "language": "en", "articles": [8], "ta_types": ["capacity_building"]}


def _state_b_entries(kor, civ, moderator):
    """State B's entries no other State may see: drafts, submitted and returned, offers and needs."""
    entries = []
    for kind, create in (("offer", offer_create), ("need", need_create)):
        for state in ("draft", "submitted", "returned"):
            # The title holds a word to search by and a secret word checked in every answer (a page
            # echoes the query, not the secret).
            probe, secret = f"Probeword{uuid.uuid4().hex[:8]}", f"Secretword{uuid.uuid4().hex[:8]}"
            entry = create(
                actor=kor.user,
                organisation=kor.organisation,
                content=entry_content(
                    kind,
                    {
                        **BASE,
                        "title": f"{probe} {secret} {kind} {state}",
                        "description": f"{probe} {BASE['description']}",
                    },
                ),
            )
            if state in ("submitted", "returned"):
                entry = entry_transition(actor=kor.user, entry=entry, action="submit")
            if state == "returned":
                entry = entry_transition(actor=moderator.user, entry=entry, action="return", reason="Add a budget")
            entries.append((kind, entry, probe, secret))
    # A published need of State A, so State A could try to engage State B's offers.
    need = need_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("need", {**BASE, "title": "Published need"}),
    )
    entry_transition(actor=civ.user, entry=need, action="submit")
    need = entry_transition(actor=moderator.user, entry=need, action="publish")
    return entries, need


def _look(kind, response, secret, *, read_must_fail: bool, what: str):
    AUTHZ["attempts"] += 1
    body = response.content.decode(errors="replace") if not getattr(response, "streaming", False) else ""
    leaked = secret in body or (read_must_fail and 200 <= response.status_code < 300)
    if leaked:
        AUTHZ["leaks"] += 1
        LEAKS.append(f"leak {what} ({kind}): {response.status_code}")
    AUTHZ[f"status_{response.status_code}"] += 1


def test_authz(civ, kor, moderator, search_backend_embedded):  # noqa: F811
    entries, civ_need = _state_b_entries(kor, civ, moderator)
    search_outbox_drain(backend=search_backend_embedded)
    api = APIClient()
    api.force_authenticate(civ.user)
    web = Client()
    web.force_login(civ.user)
    for kind, entry, probe, secret in entries:
        before = (entry.title, entry.status, entry.description)
        detail = reverse(f"kb-api:{kind}-detail", kwargs={"pk": entry.pk})
        _look(kind, api.get(detail), secret, read_must_fail=True, what="api detail")
        _look(kind, api.patch(detail, {"title": "Hijack"}, format="json"), secret, read_must_fail=True, what="patch")
        _look(
            kind, api.put(detail, {**BASE, "title": "Hijack"}, format="json"), secret, read_must_fail=True, what="put"
        )
        for action in ("submit", "withdraw", "archive", "restore", "publish", "return", "unpublish"):
            url = reverse(f"kb-api:{kind}-{action}", kwargs={"pk": entry.pk})
            _look(kind, api.post(url, {"reason": "x"}, format="json"), secret, read_must_fail=True, what=action)
        history = reverse(f"kb-api:{kind}-history", kwargs={"pk": entry.pk})
        _look(kind, api.get(history), secret, read_must_fail=True, what="history")
        for params in ({}, {"search": probe}, {"page_size": 100}, {"country": "KOR"}, {"status": entry.status}):
            _look(kind, api.get(reverse(f"kb-api:{kind}-list"), params), secret, read_must_fail=False, what="list")
        for params in (
            {"q": probe},
            {"q": probe, "type": f"{kind}s"},
            {"q": probe, "country": "KOR"},
            {"q": "verifiers", "type": f"{kind}s", "page_size": 100},
        ):
            _look(kind, api.get(reverse("kb-api:search"), params), secret, read_must_fail=False, what="search+facets")
        _look(kind, api.get(reverse("matching-api:engagement-list")), secret, read_must_fail=False, what="engagements")
        if kind == "offer":
            answer = api.post(
                reverse("matching-api:engagement-list"), {"need": civ_need.pk, "offer": entry.pk}, format="json"
            )
            _look(kind, answer, secret, read_must_fail=True, what="engage")
            page = web.post(reverse("web:express-interest", args=[civ_need.pk, entry.pk]))
            _look(kind, page, secret, read_must_fail=True, what="web engage")
        else:
            _look(
                kind,
                api.get(reverse("matching-api:need-candidates", kwargs={"pk": entry.pk})),
                secret,
                read_must_fail=True,
                what="candidates",
            )
            _look(
                kind,
                web.get(reverse("web:need-matches", args=[entry.pk])),
                secret,
                read_must_fail=True,
                what="web matches",
            )
        _look(kind, web.get(reverse("web:entry", args=[kind, entry.pk])), secret, read_must_fail=True, what="page")
        _look(
            kind,
            web.get(reverse("web:entry-edit", args=[kind, entry.pk])),
            secret,
            read_must_fail=True,
            what="edit page",
        )
        _look(
            kind,
            web.post(reverse("web:entry-edit", args=[kind, entry.pk]), {**BASE, "title": "Hijack"}),
            secret,
            read_must_fail=True,
            what="edit post",
        )
        _look(
            kind,
            web.get(reverse("web:entry-delete", args=[kind, entry.pk])),
            secret,
            read_must_fail=True,
            what="delete page",
        )
        for action in ("submit", "withdraw", "delete"):
            _look(
                kind,
                web.post(reverse("web:entry-action", args=[kind, entry.pk, action])),
                secret,
                read_must_fail=True,
                what=f"web {action}",
            )
        for params in ({"q": probe}, {"q": probe, "type": f"{kind}s"}, {"q": "verifiers"}):
            _look(kind, web.get(reverse("web:browse"), params), secret, read_must_fail=False, what="browse")
        _look(kind, web.get(reverse("web:my-entries")), secret, read_must_fail=False, what="my entries")
        _look(kind, web.get(reverse("web:inbox")), secret, read_must_fail=False, what="inbox")
        _look(kind, api.delete(detail), secret, read_must_fail=True, what="delete")
        # Control: the owner does see the secret, so a leak would have been seen.
        owner = APIClient()
        owner.force_authenticate(kor.user)
        AUTHZ["control_owner_detail"] += secret in owner.get(detail).content.decode()
        found = owner.get(reverse("kb-api:search"), {"q": probe, "type": f"{kind}s"}).content.decode()
        AUTHZ["control_owner_search"] += secret in found
        model = type(entry)
        after = model.objects.filter(pk=entry.pk).values_list("title", "status", "description").first()
        AUTHZ["entries_checked"] += 1
        if after != before:
            AUTHZ["leaks"] += 1
            AUTHZ["changed_in_db"] += 1
            LEAKS.append(f"changed {kind} {entry.pk}: {before} -> {after}")


def pytest_sessionfinish_report() -> str:
    lines = []
    if CONTRACT:
        lines.append(
            f"contract: examples/op={EXAMPLES} callers=4 cases={CONTRACT['operations_cases']} "
            f"requests={CONTRACT['requests']} 5xx={CONTRACT['server_errors']} violations={CONTRACT['violations']} "
            + " ".join(f"{k}={v}" for k, v in sorted(CONTRACT.items()) if k.startswith("status_"))
        )
    if AUTHZ:
        lines.append(
            f"authz: entries_of_state_b={AUTHZ['entries_checked']} attempts={AUTHZ['attempts']} "
            f"leaks={AUTHZ['leaks']} changed_in_db={AUTHZ['changed_in_db']} "
            f"control(owner sees secret: detail={AUTHZ['control_owner_detail']} search={AUTHZ['control_owner_search']}) "
            + " ".join(f"{k}={v}" for k, v in sorted(AUTHZ.items()) if k.startswith("status_"))
        )
    lines.extend(LEAKS[:40])
    return "\n".join(lines)


@pytest.fixture(scope="session", autouse=True)
def _report():
    yield
    print("\n=== security bench ===\n" + pytest_sessionfinish_report())
