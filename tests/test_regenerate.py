"""Regenerating after edits: Anki updates notes in place, never duplicates, keeps history.

Every scenario runs the real pipeline (source, lock file, package) and imports the packages into
a real Anki collection.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import deckforge
from deckforge import Card, Source
from deckforge.cli import cli

from .conftest import SEED, UPDATE_GOLDEN, dump_source, import_package

TYPO = "after rapallo treaty in 1922, build reactions continued to build with weimar germany"
FIXED = "after rapallo treaty in 1922, relations continued to build with weimar germany"
INSERTED = "germany was the first great power to recognise the USSR, in 1922"
NEW_CARD = Card(
    title="operation barbarossa",
    bullets=["germany invaded the USSR on 22 june 1941, opening the eastern front"],
)


@pytest.fixture
def deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    shutil.copy(SEED, tmp_path / "cards.toml")
    return tmp_path / "cards.toml"


def edit_like_a_user(path: Path) -> None:
    """Fix a typo in a bullet with a date, insert a bullet at the top of that card, move the
    first card to the end, add a card and delete one."""
    source = deckforge.load(path)
    cards = []
    for card in source.cards:
        if card.title == "comintern policy switch":
            continue  # deleted
        if any(b.startswith(TYPO) for b in card.bullets):
            bullets = [b.replace(TYPO, FIXED) for b in card.bullets]
            cards.append(card.model_copy(update={"bullets": (INSERTED, *bullets)}))
        else:
            cards.append(card)
    cards = [*cards[1:], cards[0], NEW_CARD]
    path.write_text(dump_source(Source(deck=source.deck, cards=cards)), encoding="utf-8")


def notes_by_guid(col: Any) -> dict[str, Any]:
    return {col.get_note(nid).guid: col.get_note(nid) for nid in col.find_notes("")}


def text_of(note: Any) -> str:
    return str(note["Text"] if "Text" in note else note["Facts"])


def study(col: Any, card_id: int) -> None:
    card = col.get_card(card_id)
    card.start_timer()
    col.sched.answerCard(card, 3)


def test_edits_update_notes_in_place_and_keep_history(
    deck: Path, collection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = deckforge.build(deck)
    import_package(collection, first.package.path)
    before = notes_by_guid(collection)
    assert len(before) == 64

    (typo_note,) = [n for n in before.values() if "Text" in n and "build reactions" in n["Text"]]
    studied = typo_note.cards()[0]
    study(collection, studied.id)
    history = collection.db.all("select id, cid, ease from revlog where cid = ?", studied.id)
    assert len(history) == 1

    edit_like_a_user(deck)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000100")
    second = deckforge.build(deck)
    log = import_package(collection, second.package.path)
    after = notes_by_guid(collection)

    # Anki adds the inserted bullet's cloze and the new card's two notes, updates the edited
    # bullet's cloze and its card's question/answer note, and nothing else.
    changes = second.changes
    assert (len(changes.added), len(changes.updated), len(changes.removed)) == (3, 2, 2)
    assert {collection.get_note(n.id.nid).guid for n in log.new} == {n.guid for n in changes.added}
    assert {collection.get_note(n.id.nid).guid for n in log.updated} == {
        u.new.guid for u in changes.updated
    }
    assert collection.note_count() == 64 + 3  # removed notes stay in Anki, nothing doubles

    # the edited bullet kept its GUID and shows the new text; its card kept its history
    edited = after[typo_note.guid]
    assert "relations continued" in edited["Text"]
    assert "build reactions" not in edited["Text"]
    assert collection.get_card(studied.id).reps == 1
    assert (
        collection.db.all("select id, cid, ease from revlog where cid = ?", studied.id) == history
    )

    # every note whose source did not change has the same GUID and text as before
    current = {n.guid: n for n in second.notes}
    updated = {u.new.guid for u in changes.updated}
    removed = {n.guid for n in changes.removed}
    for guid, note in before.items():
        if guid in removed:
            continue
        assert guid in current
        if guid not in updated:
            assert text_of(after[guid]) == text_of(note)
    assert len(set(current)) == len(current)

    # the deleted card's notes are the ones reported removed, and the search finds them
    assert {
        collection.get_note(nid).guid for nid in collection.find_notes(changes.removed_search())
    } == removed


def test_unchanged_rebuild_imports_as_a_no_op(deck: Path, collection: Any) -> None:
    import_package(collection, deckforge.build(deck).package.path)
    again = deckforge.build(deck)
    log = import_package(collection, again.package.path)
    assert (len(log.new), len(log.updated)) == (0, 0)
    assert again.changes.summary() == "0 added, 0 updated, 64 unchanged, 0 removed"


def test_two_builds_of_the_same_source_and_lock_are_identical(
    deck: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deckforge.build(deck, "one")
    lock = (deck.parent / "cards.lock").read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1900000000")  # later clock: must not matter
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    deckforge.build(deck, "two")
    one = (deck.parent / "one" / "stalin-foreign-policy.apkg").read_bytes()
    two = (deck.parent / "two" / "stalin-foreign-policy.apkg").read_bytes()
    assert hashlib.sha256(one).hexdigest() == hashlib.sha256(two).hexdigest()
    assert (deck.parent / "cards.lock").read_bytes() == lock


def test_edit_within_the_same_second_still_updates(deck: Path, collection: Any) -> None:
    import_package(collection, deckforge.build(deck).package.path)
    text = deck.read_text(encoding="utf-8").replace(
        "1926 = treaty of berlin", "1926 = the treaty of berlin"
    )
    deck.write_text(text, encoding="utf-8")
    log = import_package(collection, deckforge.build(deck).package.path)  # same SOURCE_DATE_EPOCH
    assert (len(log.new), len(log.updated)) == (0, 2)


def test_explicit_card_id_keeps_identity_through_a_rewrite(deck: Path) -> None:
    source = Source(
        deck=deckforge.Deck(name="Ids"),
        cards=[Card(id="berlin", title="germany", bullets=["1926 = treaty of berlin"])],
    )
    deck.write_text(dump_source(source), encoding="utf-8")
    first = deckforge.build(deck)
    rewritten = Card(id="berlin", title="weimar relations", bullets=["entirely new words"])
    deck.write_text(dump_source(Source(deck=source.deck, cards=[rewritten])), encoding="utf-8")
    second = deckforge.build(deck)
    assert second.notes[0].guid == first.notes[0].guid
    assert [n.kind for n in second.changes.removed] == ["cloze"]


def test_reordering_bullets_and_cards_changes_no_cloze_guid(deck: Path) -> None:
    first = {n.text: n.guid for n in deckforge.build(deck).notes if n.kind == "cloze"}
    source = deckforge.load(deck)
    shuffled = [c.model_copy(update={"bullets": c.bullets[::-1]}) for c in source.cards[::-1]]
    deck.write_text(dump_source(Source(deck=source.deck, cards=shuffled)), encoding="utf-8")
    result = deckforge.build(deck)
    assert {n.text: n.guid for n in result.notes if n.kind == "cloze"} == first
    # the question/answer notes list the bullets in the new order: updated, same GUIDs
    assert len(result.changes.updated) == 26
    assert not result.changes.added


def test_without_a_lock_ids_come_from_the_source(deck: Path) -> None:
    first = [n.guid for n in deckforge.build(deck).notes]
    (deck.parent / "cards.lock").unlink()
    assert [n.guid for n in deckforge.build(deck).notes] == first


def test_corrupt_lock_is_a_located_error(deck: Path) -> None:
    lock = deck.parent / "cards.lock"
    lock.write_text('{"version": 1,\n "notes": [}', encoding="utf-8")
    with pytest.raises(deckforge.SourceError) as excinfo:
        deckforge.build("cards.toml")
    assert str(excinfo.value) == (
        "cards.lock:2:12: not a deckforge lock file: Expecting value; "
        "delete it to match notes by their content alone"
    )
    lock.write_text('{"version": 1, "notes": []}', encoding="utf-8")
    with pytest.raises(
        deckforge.SourceError, match=r"^cards\.lock: not a deckforge lock file: deck"
    ):
        deckforge.build("cards.toml")


def test_diff_shows_what_the_next_import_does(deck: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["build"]).exit_code == 0
    edit_like_a_user(deck)
    result = runner.invoke(cli, ["diff"])
    assert result.exit_code == 0, result.output
    expected = Path(__file__).parent / "data" / "diff.txt"
    if UPDATE_GOLDEN:
        expected.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == expected.read_text(encoding="utf-8")


def test_a_lock_file_from_another_deck_is_refused(deck: Path) -> None:
    deckforge.build("cards.toml")
    text = deck.read_text(encoding="utf-8")
    deck.write_text(text.replace('name = "Stalin foreign policy"', 'name = "Lenin"'), "utf-8")
    result = CliRunner().invoke(cli, ["build"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "cards.lock: was written for the deck 'Stalin foreign policy', not 'Lenin': "
    )
    assert not Path("dist/lenin.apkg").exists()


def test_a_find_and_replace_across_a_card_keeps_its_notes(deck: Path) -> None:
    first = deckforge.build("cards.toml")
    text = deck.read_text(encoding="utf-8")
    deck.write_text(text.replace("stalin", "Stalin"), encoding="utf-8")
    second = deckforge.build("cards.toml")
    assert not second.changes.added
    assert not second.changes.removed
    assert {n.guid for n in second.notes} == {n.guid for n in first.notes}


def test_the_readme_shows_the_diff_of_the_scenario() -> None:
    readme = (SEED.parent / "README.md").read_text(encoding="utf-8")
    expected = (Path(__file__).parent / "data" / "diff.txt").read_text(encoding="utf-8")
    assert f"$ deckforge diff\n{expected}```" in readme
