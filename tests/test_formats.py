"""Markdown in titles and bullets (``[deck] format = "markdown"``): formatted in Anki, never raw
HTML or Anki markup, deletions never cutting through formatting, and the same notes whichever
format a deck is written in."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

import deckforge
from deckforge import cloze, formats

from .conftest import import_package
from .student import Student

MARKDOWN = """\
[deck]
name = "Weimar"
format = "markdown"

[[cards]]
title = "the *constitution*"
bullets = [
    "**1919**: the *weimar* constitution, article 48",
    "the **treaty of** versailles, `ToV`, see [the text](https://example.org/tov)",
    "~~monarchy~~ republic from 9 november 1918, <b>not bold</b> and [sound:x.mp3]",
    "{{ebert}} became *president* in 1919",
]
"""


def deletions(text: str) -> list[str]:
    plain, _, formatted = formats.read(text)
    spans = formats.fit(cloze.find(plain), formatted, lambda s, a, b: cloze.Span(a, b, s.kind))
    return [plain[s.start : s.end] for s in spans]


def test_markdown_reads_as_text_and_formatting() -> None:
    text, marked, formatted = formats.read("the **treaty of** berlin, `code`, [a](https://x) ~~s~~")
    assert text == "the treaty of berlin, code, a s"
    assert marked == ()
    assert [(text[f.start : f.end], f.opening) for f in formatted] == [
        ("treaty of", "<strong>"),
        ("code", "<code>"),
        ("a", '<a href="https://x">'),
        ("s", "<s>"),
    ]


def test_a_deletion_never_cuts_through_formatting() -> None:
    # "treaty of berlin" would open inside **...** and close outside it: it takes the whole
    assert deletions("the **big treaty of** berlin") == ["big treaty of berlin"]
    assert deletions("**1926** and *the 1930s*") == ["1926", "1930s"]


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("***both***", "<em><strong>both</strong></em>"),  # one extent: nested, not crossed
        ("[](https://x.org) t 1926", " t {{c1::1926}}"),  # a link with no text: none
        (
            "the [treaty of](https://x.org/a::b) berlin",  # "::" in a deletion: no hint
            'the {{c1::<a href="https&#58;//x.org/a&#58;&#58;b">treaty of</a> berlin}}',
        ),
    ],
)
def test_formatting_and_deletions_nest(source: str, field: str) -> None:
    text, _, formatted = formats.read(source)
    spans = formats.fit(cloze.find(text), formatted, lambda s, a, b: cloze.Span(a, b, s.kind))
    assert cloze.mark(text, spans, range(1, len(spans) + 1), formatted) == field


def test_marks_and_formatting_together() -> None:
    text, marked = deckforge.marks.read("a **bold {{mark}}** b")
    plain, spans, formatted = formats.read(text, marked)
    assert (plain, spans) == ("a bold mark b", ((7, 11),))
    field = cloze.mark(plain, [cloze.Span(7, 11, "marked")], [1], formatted)
    assert field == "a <strong>bold {{c1::mark}}</strong> b"


def shown(rendered: str) -> str:
    body = re.sub(r"<style>.*?</style>", "", rendered, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", body)).split())


def test_markdown_shows_formatted_in_anki_and_raw_markup_as_typed(
    tmp_path: Path, collection: Any
) -> None:
    (tmp_path / "cards.toml").write_text(MARKDOWN, encoding="utf-8")
    result = deckforge.build(tmp_path / "cards.toml", tmp_path / "dist")
    import_package(collection, result.package.path)
    rendered = {
        collection.get_card(c).question() + collection.get_card(c).answer()
        for c in collection.find_cards("")
    }
    page = "\n".join(rendered)
    assert "<strong>1919</strong>" in page or "<strong><span" in page
    assert '<a href="https://example.org/tov">the text</a>' in page
    assert "<s>monarchy</s>" in page
    assert "<code>ToV</code>" in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page  # HTML in the source is text
    assert "[anki:play" not in page  # so is Anki's markup
    (qa,) = [n for n in result.notes if n.kind == "qa"]
    assert qa.fields[0] == "the <em>constitution</em>"
    texts = {n.text for n in result.notes if n.kind == "cloze"}
    assert "ebert became president in 1919" in texts  # what the student reads
    assert not collection.get_empty_cards().notes


def test_a_link_address_with_two_colons_inside_a_deletion_shows_nothing_of_it(
    tmp_path: Path, collection: Any
) -> None:
    (tmp_path / "cards.toml").write_text(
        '[deck]\nname = "L"\nformat = "markdown"\n[[cards]]\ntitle = "t"\n'
        'bullets = ["the [treaty of](https://example.org/a::b) berlin, signed"]\n',
        encoding="utf-8",
    )
    result = deckforge.build(tmp_path / "cards.toml", tmp_path / "dist")
    import_package(collection, result.package.path)
    (nid,) = collection.find_notes('"deck:L" "Text:_*"')
    (card,) = collection.get_note(nid).cards()
    assert shown(card.question()).endswith("the [...] , signed")  # nothing of it shows
    assert "treaty of berlin" in shown(card.answer())


@pytest.mark.parametrize("to", ["markdown", "plain"])
def test_switching_the_format_updates_the_same_notes_and_keeps_history(
    tmp_path: Path, collection: Any, to: str
) -> None:
    start = "plain" if to == "markdown" else "markdown"
    student = Student(tmp_path, collection, MARKDOWN.replace('"markdown"', f'"{start}"'))
    first = student.build()
    student.import_(first)
    studied = student.study('"deck:Weimar" "Text:*1919*"')
    student.edit(f'format = "{start}"', f'format = "{to}"')
    switched = student.build()
    assert switched.changes.summary().startswith("0 added, ")
    assert {n.guid for n in switched.notes} == {n.guid for n in first.notes}
    student.import_(switched)
    student.check(switched)  # each reviewed card still asks for what it was learned for
    assert all(student.col.get_card(card).reps == 1 for card in studied)
