"""Bulk import and export in the interchange format (INTERCHANGE.md)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from kb.models import AssistanceNeed, EntryEvent, EntryStatus, ExpertiseOffer, Organisation, SearchOutbox
from kb.services.demo import DEMO_FILE
from kb.services.importing import entries_export, entries_import

pytestmark = pytest.mark.django_db

OFFER = {
    "kind": "offer", "external_id": "KOR-ACRC-01", "country": "KOR",
    "organisation": "Anti-Corruption and Civil Rights Commission",
    "title": "Corruption risk assessment for public bodies",
    "description": "Training and tools to run corruption risk assessments.",
    "language": "en", "uncac_articles": [5, 6, 9], "ta_types": ["capacity_building"],
    "thematic_areas": ["corruption_risk_assessment"], "keywords": ["CRA", "integrity"],
    "languages": ["en", "ru"], "modalities": ["training_course"], "capacity": 4,
}  # fmt: skip
NEED = {
    "kind": "need", "external_id": "BFA-2024-03", "country": "BFA",
    "title": "Rétablir les canaux de signalement", "description": "Les canaux ne fonctionnent plus.",
    "language": "fr", "uncac_articles": [13, 33], "ta_types": ["technology"], "priority": "high",
    "south_south": "prefer",
}  # fmt: skip


def lines(*objects) -> list[str]:
    return [json.dumps(o, ensure_ascii=False) for o in objects]


def test_valid_file_creates_entries_and_organisations():
    report = entries_import(lines=lines(OFFER, NEED))
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    offer = ExpertiseOffer.objects.get(external_id="KOR-ACRC-01")
    assert offer.organisation.name == OFFER["organisation"]
    assert offer.organisation.country.iso3 == "KOR"
    assert sorted(a.number for a in offer.articles.all()) == [5, 6, 9]
    assert sorted(lang.code for lang in offer.working_languages.all()) == ["en", "ru"]
    assert offer.capacity == 4
    assert offer.status == EntryStatus.DRAFT
    need = AssistanceNeed.objects.get(external_id="BFA-2024-03")
    assert need.organisation is None
    assert need.country.iso3 == "BFA"
    assert need.south_south == "prefer"
    assert [lang.code for lang in need.working_languages.all()] == ["fr"]


def test_international_organisation_offer_without_country():
    offer = {**OFFER, "external_id": "INT-1", "organisation": "United Nations Office on Drugs and Crime"}
    del offer["country"]
    report = entries_import(lines=lines(offer))
    assert report.ok, report.errors
    organisation = Organisation.objects.get(name="United Nations Office on Drugs and Crime")
    assert organisation.country is None


def test_invalid_file_reports_every_problem_and_writes_nothing():
    bad = [
        json.dumps({**OFFER, "capcity": 3}),  # typo: unknown key
        json.dumps({**NEED, "external_id": "N2", "country": "XXX", "uncac_articles": [13, 80]}),
        "{not json",
        json.dumps({**NEED, "external_id": "N3", "ta_types": ["magic"], "priority": "urgent"}),
        json.dumps({**OFFER, "external_id": "O4", "language": "klingon", "capacity": -2}),
        json.dumps({k: v for k, v in NEED.items() if k != "description"} | {"external_id": "N5"}),
        "",
        json.dumps({**NEED, "external_id": "N6", "south_south": "always", "modalities": ["training_course"]}),
    ]
    report = entries_import(lines=bad)
    assert not report.ok
    found = {(e.line, e.key) for e in report.errors}
    assert {
        (1, "capcity"),
        (2, "country"),
        (2, "uncac_articles"),
        (3, ""),
        (4, "ta_types"),
        (4, "priority"),
        (5, "language"),
        (5, "capacity"),
        (6, "description"),
        (8, "south_south"),
        (8, "modalities"),
    } <= found
    assert all(e.reason for e in report.errors)
    assert not ExpertiseOffer.objects.exists()
    assert not AssistanceNeed.objects.exists()
    assert not Organisation.objects.filter(name=OFFER["organisation"]).exists()


def test_one_bad_line_among_good_ones_blocks_the_whole_file():
    report = entries_import(lines=lines(OFFER, {**NEED, "language": "zz"}))
    assert [(e.line, e.key) for e in report.errors] == [(2, "language")]
    assert not ExpertiseOffer.objects.exists()


def test_duplicate_external_id_in_one_file_is_an_error():
    report = entries_import(lines=lines(OFFER, {**OFFER, "title": "Another"}))
    assert [(e.line, e.key) for e in report.errors] == [(2, "external_id")]
    assert "line 1" in report.errors[0].reason


def test_same_id_for_an_offer_and_a_need_is_fine():
    report = entries_import(lines=lines(OFFER, {**NEED, "external_id": OFFER["external_id"]}))
    assert report.ok


def test_published_status_needs_the_moderator_flag():
    report = entries_import(lines=lines({**OFFER, "status": "published"}))
    assert [(e.line, e.key) for e in report.errors] == [(1, "status")]
    report = entries_import(lines=lines({**OFFER, "status": "published"}), publish=True)
    assert report.ok
    offer = ExpertiseOffer.objects.get()
    assert offer.status == EntryStatus.PUBLISHED
    assert offer.published_at is not None


def test_publish_flag_publishes_lines_without_status_but_keeps_explicit_ones():
    entries_import(lines=lines(OFFER, {**NEED, "status": "draft"}), publish=True)
    assert ExpertiseOffer.objects.get().status == EntryStatus.PUBLISHED
    assert AssistanceNeed.objects.get().status == EntryStatus.DRAFT


def test_missing_title_becomes_the_first_sentence_of_the_description():
    need = {**NEED, "title": "", "description": "Nous avons besoin d'aide. Le reste suit."}
    entries_import(lines=lines(need))
    assert AssistanceNeed.objects.get().title == "Nous avons besoin d'aide."


def test_dry_run_validates_and_counts_but_writes_nothing():
    report = entries_import(lines=lines(OFFER, NEED), dry_run=True)
    assert report.ok
    assert report.created == 2
    assert not ExpertiseOffer.objects.exists()
    assert not Organisation.objects.filter(name=OFFER["organisation"]).exists()


def test_importing_the_same_file_twice_changes_nothing_the_second_time():
    entries_import(lines=lines(OFFER, NEED), publish=True)
    events = EntryEvent.objects.count()
    versions = sorted(ExpertiseOffer.objects.values_list("row_version", flat=True))
    SearchOutbox.objects.all().delete()

    report = entries_import(lines=lines(OFFER, NEED), publish=True)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert EntryEvent.objects.count() == events
    assert sorted(ExpertiseOffer.objects.values_list("row_version", flat=True)) == versions
    assert not SearchOutbox.objects.exists()


def test_importing_a_changed_line_updates_that_entry():
    entries_import(lines=lines(OFFER))
    report = entries_import(lines=lines({**OFFER, "capacity": 9, "uncac_articles": [7]}))
    assert (report.created, report.updated) == (0, 1)
    offer = ExpertiseOffer.objects.get()
    assert offer.capacity == 9
    assert [a.number for a in offer.articles.all()] == [7]
    assert ExpertiseOffer.objects.count() == 1


def test_the_status_of_a_file_is_set_through_the_system_transition(moderator):
    from kb.services.moderation import entry_transition

    entries_import(lines=lines(OFFER), publish=True)
    offer = entry_transition(actor=moderator.user, entry=ExpertiseOffer.objects.get(), action="archive")
    assert offer.status == EntryStatus.ARCHIVED

    report = entries_import(lines=lines({**OFFER, "status": "published"}), publish=True, actor=moderator.user)

    assert report.updated == 1
    offer.refresh_from_db()
    assert offer.status == EntryStatus.PUBLISHED
    event = EntryEvent.objects.filter(offer=offer).order_by("-id").first()
    assert (event.action, event.from_status, event.to_status, event.actor_id, event.reason) == (
        "imported",
        "archived",
        "published",
        moderator.user.pk,
        "",  # the action says it; an English reason showed in every language's history
    )


def test_export_then_import_into_an_empty_database_round_trips():
    entries_import(lines=lines(OFFER, NEED, {**NEED, "external_id": "X", "status": "submitted"}), publish=True)
    first = io.StringIO()
    assert entries_export(out=first) == 3

    ExpertiseOffer.objects.all().delete()
    AssistanceNeed.objects.all().delete()
    Organisation.objects.all().delete()
    report = entries_import(lines=first.getvalue().splitlines(), publish=True)
    assert report.ok, report.errors
    second = io.StringIO()
    entries_export(out=second)
    assert second.getvalue() == first.getvalue()


def test_archived_entries_are_not_exported():
    entries_import(lines=lines(OFFER), publish=True)
    ExpertiseOffer.objects.update(status=EntryStatus.ARCHIVED)
    out = io.StringIO()
    assert entries_export(out=out) == 0


def test_the_demo_file_is_valid():
    with open(DEMO_FILE, encoding="utf-8") as fh:
        report = entries_import(lines=fh.readlines(), publish=True, dry_run=True)
    assert report.ok, report.errors[:5]
    assert report.created > 60


# --- the commands --------------------------------------------------------------------------------


def test_import_command_exits_non_zero_with_line_numbers(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**OFFER, "colour": "blue"}) + "\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_kb", str(path))
    assert "line 1, key 'colour': unknown key" in capsys.readouterr().err
    assert not ExpertiseOffer.objects.exists()


def test_import_and_export_commands(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines(OFFER, NEED)) + "\n", encoding="utf-8")
    call_command("import_kb", str(source), "--dry-run")
    assert not ExpertiseOffer.objects.exists()
    call_command("import_kb", str(source))
    assert ExpertiseOffer.objects.count() == 1
    target = tmp_path / "out.jsonl"
    call_command("export_kb", str(target))
    exported = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {o["external_id"] for o in exported} == {"KOR-ACRC-01", "BFA-2024-03"}
    assert set(exported[0]) <= set(OFFER) | {"status"}


# --- hostile files: one pass reports everything, with real line numbers, and nothing crashes ---


def test_one_pass_reports_bad_utf8_nesting_characters_lengths_and_keywords_with_line_numbers():
    from kb.models import MAX_DESCRIPTION_LENGTH
    from kb.services.importing import entries_import_file

    raw = b"\n".join(
        [
            json.dumps({**OFFER, "external_id": "O1", "keywords": ["x" * 101]}).encode(),
            b'{"kind": "need", "title": "caf\xe9"}',  # Latin-1, not UTF-8
            b"[" * 100_000 + b"]" * 100_000,
            json.dumps({**NEED, "external_id": "N4", "title": "\ud800 lone"}).encode("utf-8", "surrogatepass"),
            json.dumps({**NEED, "external_id": "N5", "description": "nul \x00 inside"}).encode(),
            json.dumps({**NEED, "external_id": "N6", "description": "x" * (MAX_DESCRIPTION_LENGTH + 1)}).encode(),
            json.dumps({**NEED, "external_id": "N7", "keywords": [f"k{i}" for i in range(31)]}).encode(),
            json.dumps({**OFFER, "external_id": "O8", "\ud800": 1}).encode("utf-8", "surrogatepass"),
            json.dumps({**NEED, "external_id": "N9", "language": "klingon"}).encode(),
        ]
    )
    report = entries_import_file(stream=io.BytesIO(raw))
    found = {(e.line, e.key) for e in report.errors}
    assert {
        (1, "keywords"),
        (2, ""),
        (3, ""),
        (4, "title"),
        (5, "description"),
        (6, "description"),
        (7, "keywords"),
        (9, "language"),
    } <= found, report.errors
    assert any(e.line == 8 for e in report.errors)
    assert "UTF-8" in next(e.reason for e in report.errors if e.line == 2)
    assert all(str(e).encode("utf-8") for e in report.errors)  # every message can be printed
    assert not AssistanceNeed.objects.exists()
    assert not ExpertiseOffer.objects.exists()
