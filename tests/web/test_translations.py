"""Every UI string is translated into the five other UN languages, and the catalogs are current."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["ar", "zh_Hans", "fr", "ru", "es"]


def catalog(language: str, root: Path = ROOT):
    with open(root / "locale" / language / "LC_MESSAGES" / "django.po", "rb") as fh:
        return read_po(fh, locale=language)


def test_the_six_un_languages_are_configured():
    assert [code for code, _name in settings.LANGUAGES] == ["ar", "zh-hans", "en", "fr", "ru", "es"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    messages = [m for m in catalog(language) if m.id]
    assert len(messages) > 500
    untranslated = [m.id for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, untranslated[:10]
    assert not fuzzy, fuzzy[:10]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_pass_gettexts_format_checks(language):
    """msgfmt --check: placeholders of python-format messages and plural forms are consistent."""
    assert shutil.which("msgfmt"), "msgfmt is missing: run the tests with bin/test (it installs gettext)"
    po = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_catalogs_are_up_to_date_with_the_code(tmp_path):
    """Extract the messages again (Django's makemessages, with GNU gettext) into a copy of the
    project: no message may be missing from the committed catalogs."""
    assert shutil.which("xgettext"), "xgettext is missing: run the tests with bin/test (it installs gettext)"
    copy = tmp_path / "project"
    for name in ("accounts", "config", "core", "kb", "matching", "web", "locale", "manage.py"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, copy / name)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--no-obsolete", *[f"-l{lang}" for lang in LANGUAGES]],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for language in LANGUAGES:
        committed = {m.id for m in catalog(language) if m.id}
        current = {m.id for m in catalog(language, copy) if m.id}
        missing = current - committed
        assert not missing, (language, sorted(map(str, missing))[:10])


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_capitalised_message_stays_capitalised(language):
    """Labels and headings (a form's legend, a table's column) start with a capital in every
    language: the Russian form said "статьи Конвенции" above its UNCAC articles."""
    lowered = [
        (m.id, m.string)
        for m in catalog(language)
        if isinstance(m.id, str)
        and m.id[:1].isupper()
        and isinstance(m.string, str)
        and m.string[:1].isalpha()
        and m.string[:1].islower()
    ]
    assert not lowered, lowered[:10]
