"""Property: whatever a bullet says, Anki parses its cloze field as intended and shows the text
exactly as typed. Checked against a real collection with the official anki package."""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import deckforge
from deckforge import cloze

from .conftest import hostile_text, import_package

TEXT = hostile_text(min_pieces=1).filter(lambda t: t.strip() != "")


@pytest.fixture(scope="module")
def anki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A collection that has deckforge's note types, from importing a real package."""
    from anki.collection import Collection

    folder = tmp_path_factory.mktemp("anki")
    source = deckforge.Source(
        deck=deckforge.Deck(name="Property"),
        cards=[deckforge.Card(title="t", bullets=["1926 = treaty of berlin"])],
    )
    info = deckforge.export(source.deck, deckforge.transform(source), folder / "p.apkg")
    col = Collection(str(folder / "collection.anki2"))
    import_package(col, info.path)
    yield col
    col.close()


def shown(rendered: str) -> str:
    """The text a reader sees in the card's cloze area."""
    body = rendered.split('<div class="text">', 1)[1].rsplit("</div>", 1)[0]
    body = body.replace("<br>", "\n")
    return html.unescape(re.sub(r"<[^>]*>", "", body))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT)
def test_any_bullet_renders_in_anki_as_typed(anki: Any, text: str) -> None:
    spans = cloze.find(text)
    if not spans:  # a bullet without deletions gets no cloze note; mark one to test the syntax
        spans = [cloze.Span(0, len(text), "date")]
    note = anki.new_note(anki.models.by_name("deckforge Cloze"))
    note["Text"] = cloze.mark(text, spans, range(1, len(spans) + 1))
    note["Topic"] = note["Context"] = "t"
    anki.add_note(note, anki.decks.id("Property"))
    cards = note.cards()
    assert [c.ord for c in cards] == list(range(len(spans)))  # c1..cN, one card each
    nfc = functools.partial(unicodedata.normalize, "NFC")  # Anki stores fields in NFC
    for card, span in zip(cards, spans, strict=True):
        # the question hides this card's deletion and shows the others as text
        asked = nfc(text[: span.start]) + "[...]" + nfc(text[span.end :])
        assert shown(card.question()) == asked
        assert shown(card.answer()) == nfc(text)
    assert not anki.get_empty_cards().notes
    anki.remove_notes([note.id])


def test_text_with_newlines_shows_line_breaks(anki: Any) -> None:
    field = cloze.mark("first line\n1926", cloze.find("first line\n1926"), [1])
    assert field == "first line<br>{{c1::1926}}"


MARKUP = [
    "listen [sound:speech_1936.mp3] from 1936",
    "[latex]\\alpha[/latex] was known by 1926",
    "inline \\(x^2\\) and display \\[y\\] maths, 1905",
    "[$]z[/$] and [$$]w[/$$] in 1910",
    "[anki:tts lang=en_US]hello[/anki:tts] said in 1927",
]


def test_anki_markup_in_a_bullet_shows_as_typed(tmp_path: Path, collection: Any) -> None:
    # sounds, LaTeX, MathJax and speech: Anki renders none of them from deckforge's text
    source = deckforge.Source(
        deck=deckforge.Deck(name="Markup"),
        cards=[deckforge.Card(title="[sound:title.mp3] \\(t\\)", bullets=MARKUP)],
    )
    info = deckforge.export(source.deck, deckforge.transform(source), tmp_path / "m.apkg")
    import_package(collection, info.path)
    rendered = [
        html_text
        for card_id in collection.find_cards("")
        for html_text in (
            collection.get_card(card_id).question(),
            collection.get_card(card_id).answer(),
        )
    ]
    assert len(rendered) == 2 * (1 + len(MARKUP))
    for html_text in rendered:
        assert "[anki:play" not in html_text
        assert "<img" not in html_text
        assert "\\(" not in html_text  # nothing MathJax would read
        assert "\\[" not in html_text
    answers = " ".join(shown(r) for r in rendered[1::2] if '<div class="text">' in r)
    for bullet in MARKUP:
        assert bullet in answers
    assert deckforge.verify(info.path).problems == []
