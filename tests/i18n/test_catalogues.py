"""The French, Dutch and Thai catalogues are complete, keep every placeholder, and cover every string
the code marks: `makemessages` run on a copy of the sources leaves nothing untranslated or fuzzy."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from portal.i18n.catalogues import compile_catalogues
from provisioning.connectors.scim.compat import SWITCHES

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("fr", "nl", "th")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|\{\w*\}|<[^>]+>")


def catalogue(language: str, root: Path = ROOT) -> polib.POFile:
    return polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    po = catalogue(language)
    assert len(po) > 800
    assert not [e.msgid for e in po.untranslated_entries()]
    assert not [e.msgid for e in po.fuzzy_entries()]
    assert not po.metadata_is_fuzzy


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_and_markup_of_their_msgid(language):
    problems = []
    for entry in catalogue(language).translated_entries():
        pairs = (
            [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
            if entry.msgid_plural
            else [(entry.msgid, entry.msgstr)]
        )
        for msgid, msgstr in pairs:
            expected = sorted(PLACEHOLDER.findall(msgid))
            if language == "th" and entry.msgid_plural:  # one form: it speaks of the plural's values
                expected = sorted(PLACEHOLDER.findall(entry.msgid_plural))
            if sorted(PLACEHOLDER.findall(msgstr)) != expected:
                problems.append(f"{msgid!r} → {msgstr!r}")
    assert not problems, "\n".join(problems)


def test_the_terms_are_microsofts():
    """The admin center's own words for the blade (Microsoft's French, Dutch and Thai documentation)."""
    expected = {
        "fr": {
            "Provisioning": "Approvisionnement",
            "Test Connection": "Tester la connexion",
            "Admin Credentials": "Informations d\u2019identification de l\u2019administrateur",
            "Default Access": "Accès par défaut",
        },
        "nl": {
            "Provisioning": "Inrichting",
            "Test Connection": "Verbinding testen",
            "Admin Credentials": "Beheerdersreferenties",
        },
        "th": {"Provisioning": "การจัดเตรียม", "Test Connection": "ทดสอบการเชื่อมต่อ"},
    }
    for language, terms in expected.items():
        po = catalogue(language)
        for msgid, msgstr in terms.items():
            assert po.find(msgid).msgstr == msgstr, (language, msgid)


def test_the_stored_texts_cover_the_tables_they_copy():
    """portal/i18n/stored.py lists texts kept in code tables that import no Django (compatibility
    switches) and the audit activities: a new one must be added there to be translated."""
    from portal.audit import Activity
    from portal.i18n.stored import STORED_TEXTS

    activities = {value for name, value in vars(Activity).items() if name.isupper()}
    tables = activities | {
        text for switch in SWITCHES for text in (switch.label, *[label for _, label in switch.choices])
    }
    assert tables - set(STORED_TEXTS) == set()


@pytest.mark.skipif(not shutil.which("xgettext"), reason="makemessages needs GNU gettext's xgettext")
def test_makemessages_leaves_no_untranslated_or_fuzzy_entry(tmp_path):
    """Run makemessages on a copy of the sources: every marked string is already in the catalogues,
    translated (a new or changed msgid would come out untranslated or fuzzy)."""
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns(
        ".venv", "var", "staticfiles", "node_modules", "__pycache__", "*.mo", ".git"
    )
    for name in ("portal", "provisioning", "templates", "locale"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    command = [sys.executable, "manage.py", "makemessages", "--no-location", "--no-obsolete"]
    command += [f"--locale={language}" for language in LANGUAGES]
    subprocess.run(command, cwd=copy, check=True, capture_output=True)
    for language in LANGUAGES:
        po = catalogue(language, copy)
        assert not [e.msgid for e in po.untranslated_entries()], language
        assert not [e.msgid for e in po.fuzzy_entries()], language
        assert {e.msgid for e in po} == {e.msgid for e in catalogue(language)}, language


def test_the_catalogues_compile_without_gnu_gettext(tmp_path):
    """The setup compiles with polib: a machine without msgfmt still serves every language."""
    for language in LANGUAGES:
        target = tmp_path / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy(ROOT / "locale" / language / "LC_MESSAGES" / "django.po", target / "django.po")
    written = compile_catalogues(tmp_path)
    assert sorted(p.parent.parent.name for p in written) == sorted(LANGUAGES)
    french = polib.mofile(str(tmp_path / "fr" / "LC_MESSAGES" / "django.mo"))
    assert french.find("Test Connection").msgstr == "Tester la connexion"
    assert compile_catalogues(tmp_path) == []  # up to date: nothing rewritten
