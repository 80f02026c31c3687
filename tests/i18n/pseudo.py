"""A pseudo-locale for tests: every catalogue msgid translated to ⟦msgid⟧, so a page rendered in it shows
which text went through the translation machinery (inside ⟦…⟧) and which did not (outside)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import polib

PSEUDO = "eo"  # a language Django knows (LANG_INFO) that the portal does not ship
ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
WRAPPED = re.compile(r"⟦[^⟦⟧]*⟧")
WORD = re.compile(r"[A-Za-z][a-z]{2,}")  # words of msgids: a capital or lower-case start, then lower case
TOKEN = re.compile("[\\w'\u2019.@/:-]+")  # what a page shows between spaces; identifiers and URLs stay whole
PLAIN_WORD = re.compile(r"[A-Z]?[a-z]{2,}")  # a plain word (not camelCase, code, a URL or an address)
TEXT_ATTRIBUTES = ("title", "aria-label", "placeholder", "data-confirm", "hx-confirm", "alt")
SKIPPED_ELEMENTS = {"script", "style", "code", "pre", "datalist", "svg"}


def write_pseudo_catalogue(locale_dir: Path) -> set[str]:
    """Write ``<locale_dir>/eo/LC_MESSAGES/django.mo`` from the French catalogue's msgids; returns the
    English words of those msgids (the vocabulary an untranslated string would be written in)."""
    source = polib.pofile(str(SOURCE))
    pseudo = polib.POFile()
    pseudo.metadata = {**source.metadata, "Language": PSEUDO, "Plural-Forms": "nplurals=2; plural=(n != 1);"}
    vocabulary: set[str] = set()
    for entry in source:
        if entry.obsolete:
            continue
        vocabulary.update(w.lower() for w in WORD.findall(_without_placeholders(entry.msgid)))
        copy = polib.POEntry(msgid=entry.msgid, msgctxt=entry.msgctxt)
        if re.fullmatch(r"\w+(,\w+)+", entry.msgid):  # yesno's "Yes,No": each word wrapped alone
            copy.msgstr = ",".join(f"⟦{word}⟧" for word in entry.msgid.split(","))
        elif entry.msgid_plural:
            copy.msgid_plural = entry.msgid_plural
            copy.msgstr_plural = {0: f"⟦{entry.msgid}⟧", 1: f"⟦{entry.msgid_plural}⟧"}
        else:
            copy.msgstr = f"⟦{entry.msgid}⟧"
        pseudo.append(copy)
    target = locale_dir / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    pseudo.save_as_mofile(str(target / "django.mo"))
    return vocabulary


def _without_placeholders(text: str) -> str:
    return re.sub(r"%\([^)]*\)[sd]|<[^>]+>", " ", text)


class _VisibleText(HTMLParser):
    """Text nodes and the human-readable attributes of a page, outside code-like elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.attribute_parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value:
                self.attribute_parts.append(value)
        if tag in SKIPPED_ELEMENTS:
            self._skipping.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.parts.append(data)


INLINE_TAGS = re.compile(r"</?(?:a|strong|em|b|i|span|code|br|abbr|small)\b[^>]*>")


def untranslated_words(html: str, vocabulary: set[str], data_words: set[str]) -> list[str]:
    """Interface words left outside ⟦…⟧: words of the catalogue's vocabulary that are not data.

    Attributes are read from the page as it is; text is read with inline tags removed, so a translated
    sentence with a <strong> or a <code> inside stays one ⟦…⟧ piece."""
    attributes = _VisibleText()
    attributes.feed(html)
    parser = _VisibleText()
    parser.feed(INLINE_TAGS.sub("", html))
    parser.parts = [*parser.parts, *attributes.attribute_parts]
    leftovers = []
    for part in parser.parts:
        text = part
        while WRAPPED.search(text):
            text = WRAPPED.sub(" ", text)
        for token in TOKEN.findall(text):
            word = token.strip("'\u2019.:-")
            if not PLAIN_WORD.fullmatch(word):
                continue
            if word.lower() in vocabulary and word.lower() not in data_words:
                leftovers.append(f"{word!r} in {part.strip()[:90]!r}")
    return leftovers
