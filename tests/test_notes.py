"""The transform: question/answer and cloze notes, tags and stable ids, from the seed deck."""

from __future__ import annotations

import re

import pytest

import deckforge
from deckforge import Card, ClozeOptions, Deck, Note, Source, transform

from .conftest import SEED


@pytest.fixture(scope="module")
def seed_notes() -> list[Note]:
    return deckforge.transform(deckforge.load(SEED))


def test_one_question_answer_note_per_card(seed_notes: list[Note]) -> None:
    qa = [n for n in seed_notes if n.kind == "qa"]
    assert len(qa) == 26
    assert [n.card for n in qa] == list(range(26))
    first = qa[0]
    assert first.fields[0] == "attitudes 1924-29"
    assert first.fields[1].startswith("<ul><li>aim to keep safe while prioritising")
    assert first.fields[1].count("<li>") == 4
    assert first.fields[2:] == ("Stalin foreign policy", "")


def test_repeated_titles_say_which_part(seed_notes: list[Note]) -> None:
    china = [n for n in seed_notes if n.kind == "qa" and n.fields[0] == "china 1924-29"]
    assert [n.fields[2] for n in china] == [
        f"Stalin foreign policy · part {i} of 3" for i in (1, 2, 3)
    ]


def test_a_prompt_is_the_cue_of_its_card() -> None:
    source = Source(
        deck=Deck(name="D"),
        cards=[
            Card(title="china", bullets=["a b c d", "e"], prompt="the <GMD> alliance"),
            Card(title="china", bullets=["f g"]),  # no prompt: the part alone
            Card(title="japan", bullets=["h"], prompt="1931"),
        ],
    )
    assert [n.fields[2] for n in transform(source) if n.kind == "qa"] == [
        "D · part 1 of 2: the &lt;GMD&gt; alliance",
        "D · part 2 of 2",
        "D · 1931",
    ]


def test_one_cloze_note_per_bullet_with_a_date_or_treaty(seed_notes: list[Note]) -> None:
    clozes = {n.text: n.fields[0] for n in seed_notes if n.kind == "cloze"}
    assert len(clozes) == 38
    assert clozes["1926 = treaty of berlin"] == "{{c1::1926}} = {{c2::treaty of berlin}}"
    assert clozes["invited to join sep 1934"] == "invited to join {{c1::sep 1934}}"
    assert clozes["most intensive period was 1929 to 1932"] == (
        "most intensive period was {{c1::1929 to 1932}}"
    )
    assert "{{c1::70%}}" not in " ".join(clozes.values())
    assert "policy was linked to leadership struggle" not in clozes
    assert not any(re.search(r"\{\{c\d+::(\d+%|6 weeks|10 year)", v) for v in clozes.values())


def test_every_note_is_tagged_for_filtering(seed_notes: list[Note]) -> None:
    for note in seed_notes:
        assert {"history", "ussr", f"deckforge::{note.kind}"} <= set(note.tags)
        assert any(t.startswith("deckforge::topic::") for t in note.tags)
        assert not any(" " in t for t in note.tags)
    berlin = next(n for n in seed_notes if n.text == "1926 = treaty of berlin")
    assert berlin.tags == (
        "history",
        "ussr",
        "deckforge::topic::germany",
        "deckforge::cloze",
        "deckforge::cloze::date",
        "deckforge::cloze::treaty",
    )


def test_guids_are_unique_and_stable(seed_notes: list[Note]) -> None:
    assert len({n.guid for n in seed_notes}) == len(seed_notes)
    again = deckforge.transform(deckforge.load(SEED))
    assert [n.guid for n in again] == [n.guid for n in seed_notes]


def test_text_is_escaped_so_it_shows_as_typed() -> None:
    source = Source(
        deck=Deck(name="A & B"),
        cards=[Card(title="<script>", bullets=['"quoted" & <b>bold</b> in 1926'], tags=["x"])],
    )
    qa, cloze_note = deckforge.transform(source)
    assert qa.fields == (
        "&lt;script&gt;",
        '<ul><li>"quoted" &amp; &lt;b&gt;bold&lt;/b&gt; in 1926</li></ul>',
        "A &amp; B",
        "",
    )
    assert cloze_note.fields[0] == '"quoted" &amp; &lt;b&gt;bold&lt;/b&gt; in {{c1::1926}}'
    assert "deckforge::topic::<script>" in qa.tags


def test_cloze_options_shape_the_notes() -> None:
    card = Card(title="nazi-soviet pact aug 1939", bullets=["1926 = treaty of berlin"])
    default = deckforge.transform(Source(deck=Deck(name="d"), cards=[card]))
    assert [n.text for n in default if n.kind == "cloze"] == ["1926 = treaty of berlin"]

    options = ClozeOptions(titles=True, cards="single", kinds=["treaty"])
    notes = deckforge.transform(Source(deck=Deck(name="d"), cards=[card], cloze=options))
    assert [n.fields[0] for n in notes if n.kind == "cloze"] == [
        "{{c1::nazi-soviet pact}} aug 1939",
        "1926 = {{c1::treaty of berlin}}",
    ]
