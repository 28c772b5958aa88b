"""Contract tests: the same expectations on the embedded backend and on a real Elasticsearch."""

from __future__ import annotations

import pytest

from kb.search.query import SearchRequest, SortOrder

pytestmark = pytest.mark.django_db

BOTH = ("offer", "need")


def search(backend, text="", kinds=BOTH, owners=(), **kwargs):
    return backend.search(SearchRequest(kinds=kinds, text=text, visible_to_owners=owners, **kwargs))


def ids(results):
    return [(h.kind, h.entry_id) for h in results.hits]


def key(entry):
    return ("offer" if type(entry).__name__ == "ExpertiseOffer" else "need", entry.pk)


def test_relevance_order(search_backend, corpus):
    results = search(search_backend, "asset declarations verification", kinds=("offer",))
    order = ids(results)
    # Title and body about it beat a passing mention in the body.
    assert order.index(key(corpus["rwa_declarations"])) < order.index(key(corpus["kor_risk"]))
    assert key(corpus["chn_recovery"]) not in order
    assert results.hits[0].score >= results.hits[-1].score


def test_french_query_finds_french_text_across_inflections(search_backend, corpus):
    order = ids(search(search_backend, "déclaration du patrimoine", kinds=("offer",)))
    assert order[0] == key(corpus["fra_patrimoine"])


def test_english_query_finds_french_entries_through_concepts(search_backend, corpus):
    order = ids(search(search_backend, "asset declarations", kinds=("need",)))
    assert order == [key(corpus["civ_need"])]


def test_arabic_query_finds_arabic_text(search_backend, corpus):
    assert ids(search(search_backend, "حماية المبلغ", kinds=("offer",)))[0] == key(corpus["egy_whistle"])


def test_chinese_query_finds_chinese_text(search_backend, corpus):
    assert ids(search(search_backend, "资产追回", kinds=("offer",)))[0] == key(corpus["chn_recovery"])


def test_spanish_query(search_backend, corpus):
    assert ids(search(search_backend, "denunciante", kinds=("need",))) == [key(corpus["hnd_need"])]


@pytest.mark.parametrize(
    ("facet", "value", "expected"),
    [
        ("article", "33", {"egy_whistle", "hnd_need"}),
        ("chapter", "5", {"chn_recovery", "rwa_declarations"}),
        ("ta_type", "technology", {"rwa_declarations"}),
        ("thematic_area", "asset_declarations", {"rwa_declarations", "civ_need"}),
        ("country", "KOR", {"kor_risk", "xss"}),
        ("region", "Africa", {"rwa_declarations", "egy_whistle", "civ_need"}),
        ("subregion", "Western Africa", {"civ_need"}),
        ("regional_group", "grulac", {"hnd_need"}),
        ("language", "zh", {"chn_recovery"}),
        ("south_south", "no", {"kor_risk", "fra_patrimoine", "xss"}),
        ("kind", "need", {"civ_need", "hnd_need"}),
    ],
)
def test_each_filter(search_backend, corpus, facet, value, expected):
    results = search(search_backend, filters={facet: [value]}, limit=50)
    assert set(ids(results)) == {key(corpus[name]) for name in expected}
    assert results.total == len(expected)


def test_filters_combine_and_values_within_a_facet_are_alternatives(search_backend, corpus):
    results = search(search_backend, filters={"language": ["fr", "es"], "kind": ["need"]})
    assert set(ids(results)) == {key(corpus["civ_need"]), key(corpus["hnd_need"])}


def test_facet_counts(search_backend, corpus):
    results = search(search_backend, "", limit=1)
    facets = {facet: dict(values) for facet, values in results.facets.items()}
    assert results.total == 8
    assert facets["kind"] == {"offer": 6, "need": 2}
    assert facets["article"]["8"] == 3
    assert facets["language"] == {"en": 3, "fr": 2, "ar": 1, "zh": 1, "es": 1}
    assert facets["south_south"] == {"yes": 5, "no": 3}
    assert facets["regional_group"]["african"] == 3


def test_highlights_are_escaped(search_backend, corpus):
    results = search(search_backend, "asset declarations gifts", kinds=("offer",))
    hit = next(h for h in results.hits if h.entry_id == corpus["xss"].pk)
    assert "<script>" not in hit.highlights["title"]
    assert "&lt;script&gt;" in hit.highlights["title"]
    assert "<mark>declarations</mark>" in hit.highlights["title"]
    assert "&lt;b&gt;<mark>gifts</mark>&lt;/b&gt;" in hit.highlights["description"]


def test_drafts_only_for_their_owners(search_backend, corpus):
    draft = corpus["civ_draft"]
    assert key(draft) not in ids(search(search_backend, "brouillon", owners=()))
    assert key(draft) not in ids(search(search_backend, "brouillon", owners=("org:999999",)))
    assert key(draft) in ids(search(search_backend, "brouillon", owners=(f"org:{draft.organisation_id}",)))
    assert key(draft) in ids(search(search_backend, "brouillon", owners=None))  # moderators


def test_sort_by_date(search_backend, corpus):
    from kb.models import ExpertiseOffer

    ExpertiseOffer.objects.filter(pk=corpus["chn_recovery"].pk).update(published_at="2030-01-01T00:00:00Z")
    from kb.search.sync import search_outbox_drain

    search_outbox_drain(backend=search_backend)
    results = search(search_backend, "", kinds=("offer",), sort=SortOrder.DATE)
    assert ids(results)[0] == key(corpus["chn_recovery"])


def test_pagination(search_backend, corpus):
    first = search(search_backend, "", limit=3, offset=0, sort=SortOrder.DATE)
    second = search(search_backend, "", limit=3, offset=3, sort=SortOrder.DATE)
    assert first.total == second.total == 8
    assert len(first.hits) == 3
    assert not set(ids(first)) & set(ids(second))


def test_portuguese_entries_are_searchable(search_backend, corpus):
    from kb.models import Language
    from kb.search.sync import search_outbox_drain
    from tests.factories import OfferFactory
    from tests.kb.search.conftest import org, published

    offer = published(
        OfferFactory(
            organisation=org("BRA", "Controladoria-Geral da União"),
            language=Language.objects.get(code="pt"),
            title="Proteção de denunciantes no serviço público",
            description="Compartilhamos a experiência da CGU.",
        )
    )
    search_outbox_drain(backend=search_backend)
    assert ids(search(search_backend, "proteção denunciante", kinds=("offer",)))[0] == key(offer)
