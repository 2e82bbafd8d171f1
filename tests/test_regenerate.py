"""Regenerating after edits: Anki updates notes in place, never duplicates, keeps history.

Every scenario runs the real pipeline (source, lock file, package) and imports the packages into
a real Anki collection.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import deckforge
from deckforge import Card, Source
from deckforge.cli import cli
from deckforge.identity import read_lock

from .conftest import SEED, UPDATE_GOLDEN, dump_source, import_package
from .student import DECK, Student

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


def test_corrupt_lock_is_a_located_error_with_no_advice_that_loses_identity(deck: Path) -> None:
    lock = deck.parent / "cards.lock"
    lock.write_text('{"deckforge": 2, "deck": "D", "key": "D"}\n{"guid": "x", "kind', "utf-8")
    with pytest.raises(deckforge.SourceError) as excinfo:
        deckforge.build("cards.toml")
    assert str(excinfo.value) == (
        "cards.lock:2:15: not a deckforge lock file: Unterminated string starting at; restore "
        "it from git (git checkout -- cards.lock), or move it aside: the next build rebuilds it "
        "from the package it built last"
    )
    lock.write_text('{"deckforge": 9, "deck": "D", "key": "D"}\n', encoding="utf-8")
    with pytest.raises(deckforge.SourceError) as excinfo:
        deckforge.build("cards.toml")
    assert str(excinfo.value) == (
        "cards.lock: was written by a newer deckforge (lock version 9); upgrade deckforge"
    )


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


# -- the way people really keep their notes ------------------------------------------------
# Each scenario builds, imports into a real collection with the default import options,
# reviews cards, edits, rebuilds and re-imports, then checks what the student sees (see
# Student.check): no duplicate, the new text, every reviewed card with its history and asking
# for the fact it was learned for, and an unchanged rebuild that imports as a no-op.


@pytest.fixture
def student(tmp_path: Path, collection: Any) -> Student:
    return Student(tmp_path, collection, DECK)


def cloze_guid(result: deckforge.BuildResult, words: str) -> str:
    (guid,) = [n.guid for n in result.notes if n.kind == "cloze" and words in n.text]
    return guid


def test_a_reverted_edit_reaches_anki(student: Student) -> None:
    student.git("init", "-q")
    first = student.build()
    student.commit("notes")
    student.import_(first)
    student.study('"Text:*rapallo*"')
    student.study('"Topic:peace" "note:deckforge Q/A"')
    guid = cloze_guid(first, "rapallo")

    student.edit("rapallo treaty in 1922", "rapallo treaty in 1923")
    student.commit("1923")  # committed before the build: the build's lock goes in below
    edited = student.build()
    student.commit("lock")
    student.import_(edited)
    assert "in 1923" in student.text(guid)

    student.git("revert", "--no-edit", "HEAD~1")  # the edit's commit: the source goes back
    student.git("checkout", "HEAD~2", "--", "cards.lock")  # and its lock with it
    assert student.source.read_text(encoding="utf-8") == DECK
    assert (
        deckforge.diff(student.source, student.folder / "dist")
        .summary()
        .startswith("0 added, 2 updated, ")
    )
    reverted = student.build()
    student.import_(reverted)
    assert "in 1922" in student.text(guid)
    student.check(reverted)
    student.no_op()


def test_a_typo_fixed_in_a_title_and_its_only_bullet_keeps_its_notes(student: Student) -> None:
    first = student.build()
    student.import_(first)
    student.study('"Topic:popular front polcy"')
    student.edit("polcy", "policy")
    fixed = student.build()
    assert fixed.changes.summary() == "0 added, 2 updated, 6 unchanged, 0 removed"
    assert {n.guid for n in fixed.notes} == {n.guid for n in first.notes}
    student.import_(fixed)
    student.check(fixed)
    student.no_op()


def test_a_word_replaced_across_the_deck_keeps_every_note(tmp_path: Path, collection: Any) -> None:
    student = Student(tmp_path, collection, SEED.read_text(encoding="utf-8"))
    first = student.build()
    student.import_(first)
    student.study('"Text:*USSR*"')
    student.study('"Facts:*USSR*"')
    student.edit("USSR", "Soviet Union")
    replaced = student.build()
    changes = replaced.changes
    assert (len(changes.added), len(changes.removed)) == (0, 0)
    assert len(changes.updated) > 20
    student.import_(replaced)
    student.check(replaced)
    student.no_op()


def test_an_inserted_date_gets_a_card_of_its_own(student: Student) -> None:
    first = student.build()
    student.import_(first)
    (studied,) = student.study('"Text:*bad harvests*"')
    assert student.asks(studied) == "1788"
    student.edit("bad harvests 1788", "after the hard winter of 1787, bad harvests 1788")
    inserted = student.build()
    (note,) = [n for n in inserted.notes if n.kind == "cloze" and "winter of 1787" in n.text]
    assert note.fields[0] == (
        "after the hard {{c2::winter of 1787}}, bad harvests {{c1::1788}} drove bread prices up"
    )
    student.import_(inserted)
    student.check(inserted)  # the reviewed card still asks for 1788
    cards = student.col.get_note(student.col.get_card(studied).nid).cards()
    assert [student.asks(c.id) for c in cards] == ["1788", "winter of 1787"]
    assert [c.reps for c in cards] == [1, 0]
    student.no_op()


def test_a_deletion_the_author_marks_is_a_card_of_its_own_on_the_same_note(
    student: Student,
) -> None:
    first = student.build()
    student.import_(first)
    (studied,) = student.study('"Text:*bad harvests*"')
    student.edit("bad harvests 1788 drove", "{{bad harvests}} 1788 drove")
    marked = student.build()
    (note,) = [n for n in marked.notes if n.kind == "cloze" and "bad harvests" in n.text]
    assert note.text == "bad harvests 1788 drove bread prices up"  # the marks go
    assert note.fields[0] == "{{c2::bad harvests}} {{c1::1788}} drove bread prices up"
    assert "deckforge::cloze::marked" in note.tags
    assert marked.changes.summary() == "0 added, 1 updated, 7 unchanged, 0 removed"
    student.import_(marked)
    student.check(marked)  # the reviewed card still asks for 1788
    cards = student.col.get_note(student.col.get_card(studied).nid).cards()
    assert [student.asks(c.id) for c in cards] == ["1788", "bad harvests"]
    assert [c.reps for c in cards] == [1, 0]
    # the question/answer note shows the bullet as the student reads it
    (qa,) = student.col.find_notes('"Facts:*bad harvests*"')
    assert "<li>bad harvests 1788 drove bread prices up</li>" in student.col.get_note(qa)["Facts"]
    student.no_op()


def test_a_removed_deletion_is_reported_with_how_to_remove_its_card(student: Student) -> None:
    first = student.build()
    student.import_(first)
    student.study('"Text:*amiens*"')
    student.edit("treaty of amiens 1802 brought", "treaty of amiens brought")
    shown = CliRunner().invoke(
        cli, ["diff", str(student.source), "-o", str(student.folder / "dist")]
    )
    assert "    cards: c1 [treaty of amiens], c2 left empty\n" in shown.stdout
    assert "Tools → Empty Cards" in shown.stdout
    result = student.build()
    assert result.changes.summary() == (
        "0 added, 2 updated, 6 unchanged, 0 removed, 1 card left empty"
    )
    assert result.summary().endswith(", 9 cards; " + result.changes.summary())
    student.import_(result)
    # the card Anki keeps empty is the one deckforge reported, and nothing else is empty
    (empty,) = student.col.get_empty_cards().notes
    guid = cloze_guid(result, "amiens")
    assert student.col.get_note(empty.note_id).guid == guid
    (card,) = [student.col.get_card(c) for c in empty.card_ids]
    assert card.ord == 1  # c2, the deletion that is gone
    del student.studied[card.id]  # it asks for nothing now: its history stays with it
    student.check(result)
    student.col.remove_cards_and_orphaned_notes(list(empty.card_ids))  # Tools > Empty Cards
    assert student.col.card_count() == 9
    student.no_op()


def test_switching_to_one_card_per_bullet_reports_the_cards_it_empties(student: Student) -> None:
    student.import_(student.build())
    student.study('"Text:*rapallo*"')
    student.edit(
        'name = "French revolution"\n', 'name = "French revolution"\n[cloze]\ncards = "single"\n'
    )
    single = student.build()
    emptied = {note.text: numbers for note, numbers in single.changes.emptied}
    assert emptied == {
        "treaty of amiens 1802 brought a pause in the wars": (2,),
        "rapallo treaty in 1922 settled the border": (2,),
    }
    student.import_(single)
    assert len(student.col.get_empty_cards().notes) == 2


def test_two_sources_of_one_deck_name_never_share_a_note(tmp_path: Path, collection: Any) -> None:
    def week(fact: str) -> str:
        card = Card(title="summary", bullets=[fact])
        return deckforge.dumps(Source(deck=deckforge.Deck(name="History"), cards=[card]))

    week1 = Student(tmp_path, collection, week("treaty of versailles 1919"), "week1.toml")
    week2 = Student(tmp_path, collection, week("treaty of riga 1921"), "week2.toml")
    one = deckforge.build(week1.source, tmp_path / "one")
    week1.import_(one)
    week1.study('"Topic:summary"')
    two = deckforge.build(week2.source, tmp_path / "two")  # each into a folder of its own
    week2.import_(two)
    assert {n.guid for n in one.notes}.isdisjoint(n.guid for n in two.notes)
    week1.check(one, others=2)  # nothing of week1 overwritten, its reviews kept
    week2.check(two, others=2)
    week1.no_op("one")
    week2.no_op("two")
    both = [week1.source, week2.source]
    assert [len(r.notes) for r in deckforge.build_all(both, tmp_path, bundle="Both")] == [2, 2]
    # a lock file copied from the other source: refused, naming both files
    (tmp_path / "week2.lock").write_bytes((tmp_path / "week1.lock").read_bytes())
    with pytest.raises(deckforge.DeckforgeError) as excinfo:
        deckforge.build_all(both, tmp_path, bundle="Both")
    assert str(excinfo.value).startswith(
        f"{tmp_path / 'week1.toml'} and {tmp_path / 'week2.toml'} both hold the note of the card "
        f"'summary' in their lock files: was {tmp_path / 'week2.lock'} copied from another?"
    )


def test_a_renamed_deck_keeps_its_notes(student: Student) -> None:
    first = student.build()
    student.import_(first)
    student.study('"Topic:causes"')
    student.edit('name = "French revolution"', 'name = "History::French Revolution"')
    renamed = student.build()
    assert renamed.changes.renamed == "French revolution"
    assert renamed.changes.summary() == "0 added, 8 updated, 0 unchanged, 0 removed"
    assert {n.guid for n in renamed.notes} == {n.guid for n in first.notes}
    advice = "\n".join(renamed.changes.advice())
    assert "rename the deck in Anki" in advice
    deck = student.col.decks.by_name("French revolution")
    student.col.decks.rename(deck, "History::French Revolution")  # as the build says
    student.import_(renamed)
    student.check(renamed)
    names = {d.name for d in student.col.decks.all_names_and_ids(skip_empty_default=True)}
    assert names == {"History", "History::French Revolution"}
    student.no_op()


WAR = '[[cards]]\ntitle = "war"\nbullets = ["valmy, 20 september 1792"]\n\n'
TERROR = '[[cards]]\ntitle = "terror"\nbullets = ["robespierre fell in july 1794"]\n\n'


def test_branches_merged_with_a_conflicting_lock_keep_every_note(student: Student) -> None:
    student.git("init", "-q", "-b", "main")
    student.import_(student.build())
    student.commit("notes")
    student.study('"Topic:causes"')
    # a branch adds a card and rewords a bullet; it is built, imported and studied there
    student.git("checkout", "-q", "-b", "war")
    student.edit('[[cards]]\ntitle = "peace"', WAR + '[[cards]]\ntitle = "peace"')
    student.edit("drove bread prices up", "drove bread prices up sharply")
    war = student.build()
    student.commit("war")
    student.import_(war)
    student.study('"Topic:war"')
    # main adds another card and rewords the same bullet
    student.git("checkout", "-q", "main")
    student.edit('[[cards]]\ntitle = "peace"', TERROR + '[[cards]]\ntitle = "peace"')
    student.edit("drove bread prices up", "drove bread prices higher")
    student.build()
    student.commit("terror")
    assert student.git("merge", "war", check=False).returncode != 0
    assert "<<<<<<<" in (student.folder / "cards.lock").read_text(encoding="utf-8")
    # the student resolves cards.toml (both cards, one wording) and leaves cards.lock as it is
    student.source.write_text(
        DECK.replace(
            '[[cards]]\ntitle = "peace"', TERROR + WAR + '[[cards]]\ntitle = "peace"'
        ).replace("drove bread prices up", "drove bread prices higher"),
        encoding="utf-8",
    )
    merged = student.build()
    assert merged.changes.merged >= 1
    assert merged.changes.advice()[0].startswith("The lock file held ")
    assert "git conflict" in merged.changes.advice()[0]
    assert cloze_guid(merged, "valmy") == cloze_guid(war, "valmy")  # the branch's notes kept
    assert cloze_guid(merged, "bread") == cloze_guid(war, "bread")
    assert "<<<<<<<" not in (student.folder / "cards.lock").read_text(encoding="utf-8")
    log = student.import_(merged)
    assert len(log.new) == 2  # the terror card's two notes: nothing twice
    student.check(merged)
    student.no_op()


def test_a_lost_lock_is_rebuilt_from_the_last_package(student: Student) -> None:
    first = student.build()
    student.import_(first)
    student.study('"Topic:peace"')
    (student.folder / "cards.lock").unlink()
    student.edit("the estates-general met in may 1789", "the estates-general met on 5 may 1789")
    rebuilt = student.build()
    assert rebuilt.changes.summary() == "0 added, 2 updated, 6 unchanged, 0 removed"
    student.import_(rebuilt)
    student.check(rebuilt)
    student.no_op()


def test_without_lock_or_package_no_card_takes_another_cards_identity(
    student: Student, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    first = student.build()
    student.import_(first)
    student.study('"Topic:peace" "note:deckforge Q/A"')
    (student.folder / "cards.lock").unlink()
    shutil.rmtree(student.folder / "dist")
    # a new card with the title of one already there, before it
    student.edit(
        '[[cards]]\ntitle = "peace"',
        '[[cards]]\ntitle = "peace"\nbullets = ["tilsit, july 1807"]\n\n[[cards]]\ntitle = "peace"',
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000100")  # nothing says when it last built
    again = student.build()
    assert len(again.changes.added) == len(again.notes)  # nothing to match with
    assert {n.guid for n in again.notes} >= {n.guid for n in first.notes}
    student.import_(again)
    student.check(again)  # the reviewed card still asks about peace, with its own facts


def test_a_deck_made_by_a_script_keeps_its_identity(tmp_path: Path, collection: Any) -> None:
    rows = [("Dalton", "atomic theory published in 1808"), ("Rutherford", "gold foil, 1909")]

    def deck(rows: list[tuple[str, str]]) -> Source:
        cards = [Card(title=title, bullets=[fact]) for title, fact in rows]
        return Source(deck=deckforge.Deck(name="Atoms"), cards=cards)

    student = Student(tmp_path, collection, "")  # its cards.toml unused: the deck is made here
    lock = tmp_path / "atoms.lock"
    first = deckforge.build_source(deck(rows), lock, tmp_path / "dist")
    student.import_(first)
    student.study('"Text:*1909*"')
    rows[1] = ("Rutherford", "gold foil experiment, 1909")
    second = deckforge.build_source(deck(rows), lock, tmp_path / "dist")
    assert second.changes.summary() == "0 added, 2 updated, 2 unchanged, 0 removed"
    log = student.import_(second)
    assert (len(log.new), len(log.updated)) == (0, 2)
    student.check(second)
    again = deckforge.build_source(deck(rows), lock, tmp_path / "dist")
    log = student.import_(again)
    assert (len(log.new), len(log.updated)) == (0, 0)
    # and the deck, written out, is a cards.toml that builds the same notes
    deckforge.dump(deck(rows), tmp_path / "atoms.toml")
    assert deckforge.load(tmp_path / "atoms.toml") == deck(rows)
    assert [n.guid for n in deckforge.build(tmp_path / "atoms.toml", tmp_path / "dist").notes] == [
        n.guid for n in again.notes
    ]


def test_source_date_epoch_never_hides_an_edit(
    student: Student, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "99999999999")
    with pytest.raises(deckforge.DeckforgeError, match="SOURCE_DATE_EPOCH must be whole seconds"):
        student.build()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    student.import_(student.build())  # stamped now
    student.study('"Text:*bad harvests*"')
    student.edit("bread prices", "the price of bread")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # long before the first build
    edited = student.build()
    log = student.import_(edited)
    assert len(log.updated) == 2
    student.check(edited)
    student.no_op()


def test_reverting_an_earlier_commit_reaches_anki(student: Student) -> None:
    student.git("init", "-q")
    first = student.build()
    student.commit("notes")
    student.import_(first)
    student.study('"Text:*rapallo*"')
    student.edit("rapallo treaty in 1922", "rapallo treaty in 1923")
    student.import_(student.build())
    student.commit("1923")
    student.edit("met in may 1789", "met in june 1789")
    student.import_(student.build())
    student.commit("june")
    # the 1923 commit, lock and all: git may stop at a conflict in cards.lock, which the
    # build resolves (the README says to leave it to the build)
    if student.git("revert", "--no-edit", "HEAD~1", check=False).returncode:
        assert student.git("diff", "--name-only", "--diff-filter=U").stdout == "cards.lock\n"
    reverted = student.build()
    assert reverted.changes.summary() == "0 added, 2 updated, 6 unchanged, 0 removed"
    student.import_(reverted)
    assert "in 1922" in student.text(cloze_guid(reverted, "rapallo"))
    assert "june 1789" in student.text(cloze_guid(reverted, "estates-general"))
    student.check(reverted)
    student.no_op()


def test_a_second_file_of_a_deck_name_never_takes_the_firsts_notes(
    tmp_path: Path, collection: Any
) -> None:
    for name, fact in (("week1", "treaty of versailles 1919"), ("week2", "treaty of riga 1921")):
        card = Card(title="summary", bullets=[fact])
        deckforge.dump(Source(deck=deckforge.Deck(name="History"), cards=[card]), tmp_path / name)
    week1, week2 = tmp_path / "week1", tmp_path / "week2"
    one = deckforge.build(week1, tmp_path / "dist")
    import_package(collection, one.package.path)
    two = deckforge.build(week2, tmp_path / "dist")  # over week1's package, with no lock yet
    assert two.changes.summary() == "2 added, 0 updated, 0 unchanged, 0 removed"
    import_package(collection, two.package.path)
    assert collection.note_count() == 4
    # bundled, then a lock lost: it is found again in its own part of the package
    deckforge.build_all([week1, week2], tmp_path / "dist", bundle="History")
    (tmp_path / "week2.lock").unlink()
    again = deckforge.build_all([week1, week2], tmp_path / "dist", bundle="History")
    assert [r.changes.summary() for r in again] == [
        "0 added, 0 updated, 2 unchanged, 0 removed"
    ] * 2


def test_one_card_in_two_files_of_one_name_and_deck_is_one_note(tmp_path: Path) -> None:
    card = Card(title="summary", bullets=["treaty of versailles 1919"])
    for term in ("termA", "termB"):
        (tmp_path / term).mkdir()
        deckforge.dump(
            Source(deck=deckforge.Deck(name="History"), cards=[card]),
            tmp_path / term / "cards.toml",
        )
    with pytest.raises(deckforge.DeckforgeError, match="make one note of the card 'summary'"):
        deckforge.build_all([tmp_path / "termA", tmp_path / "termB"], tmp_path, bundle="Both")


def test_deletions_read_back_from_a_package_keep_a_card_each(student: Student) -> None:
    student.build()
    (student.folder / "cards.lock").unlink()  # rebuilt from the package below
    student.edit("rapallo treaty in 1922", "rapallo treaty in 1923")
    result = student.build()
    (note,) = [n for n in result.notes if n.kind == "cloze" and "rapallo" in n.text]
    assert note.fields[0] == "{{c1::rapallo treaty}} in {{c2::1923}} settled the border"


def test_a_treaty_added_to_a_short_bullet_keeps_its_note(student: Student) -> None:
    student.import_(student.build())
    (studied,) = student.study('"Text:*estates-general*"')
    student.edit("met in may 1789", "met in may 1789, after the treaty of paris")
    result = student.build()
    assert result.changes.summary() == "0 added, 2 updated, 6 unchanged, 0 removed"
    student.import_(result)
    student.check(result)
    cards = student.col.get_note(student.col.get_card(studied).nid).cards()
    assert [student.asks(c.id) for c in cards] == ["may 1789", "treaty of paris"]


def test_the_search_for_removed_notes_finds_them_and_no_other(
    tmp_path: Path, collection: Any
) -> None:
    cards = [
        Card(title="germany", bullets=["1939 = nazi-soviet pact", "1926 = treaty of berlin"]),
        Card(title="poland", bullets=["1939 = nazi-soviet pact", "invaded in sep 1939"]),
        Card(title="🇺🇦", bullets=["— ✓"]),
    ]
    source = tmp_path / "cards.toml"
    deckforge.dump(Source(deck=deckforge.Deck(name="D_1*"), cards=cards), source)
    import_package(collection, deckforge.build(source, tmp_path / "dist").package.path)
    edited = [cards[0], Card(title="poland", bullets=["invaded in sep 1939"])]
    deckforge.dump(Source(deck=deckforge.Deck(name="D_1*"), cards=edited), source)
    result = deckforge.build(source, tmp_path / "dist")
    assert len(result.changes.removed) == 2  # poland's copy of the bullet, and the flag card
    found = {
        collection.get_note(n).guid for n in collection.find_notes(result.changes.removed_search())
    }
    assert found == {n.guid for n in result.changes.removed}


def test_a_card_deleted_then_restored_is_the_same_note(
    student: Student, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # a fixed time, the hardest case
    original = student.source.read_text(encoding="utf-8")
    student.import_(student.build())
    student.study('"Topic:peace"')
    student.edit("brought a pause", "brought a short pause")
    student.import_(student.build())  # Anki now has the edit, at a later time
    student.source.write_text(
        re.sub(r'\[\[cards\]\]\ntitle = "peace"\nbullets = \[.*?\]\n', "", original, flags=re.S),
        encoding="utf-8",
    )
    gone = student.build()  # not imported
    assert len(gone.changes.removed) == 3
    student.source.write_text(original, encoding="utf-8")  # back as it first was
    restored = student.build()
    assert {n.guid for n in restored.changes.added} == {n.guid for n in gone.changes.removed}
    log = student.import_(restored)
    assert (len(log.new), len(log.updated)) == (0, 2)  # the same notes, the first text again
    student.check(restored)
    student.no_op()


def test_trying_one_card_per_bullet_and_back_keeps_every_card(student: Student) -> None:
    student.import_(student.build())
    student.study('"Text:*amiens*"')
    one_card = '[deck]\nname = "French revolution"\n[cloze]\ncards = "single"\n'
    student.edit('[deck]\nname = "French revolution"\n', one_card)
    student.build()  # tried, and not imported
    student.edit(one_card, '[deck]\nname = "French revolution"\n')
    back = student.build()
    assert not back.changes.emptied
    student.import_(back)
    assert not student.col.get_empty_cards().notes
    student.check(back)
    student.no_op()


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json at all", "cards.lock:2:1: not a deckforge lock file: Expecting value"),
        (
            '{"guid": "g", "kind": "cloze", "card": "c", "hash": "h", "mod": 1, '
            '"cloze": [["1926", 0, "date"]], "last": 1, "text": "in 1926"}',
            "cards.lock:2:1: not a deckforge lock file: cloze.0.1: Input should be greater "
            "than or equal to 1",
        ),
    ],
)
def test_every_line_of_a_lock_is_a_note(deck: Path, line: str, error: str) -> None:
    header = '{"deckforge": 2, "deck": "Stalin foreign policy", "key": "k"}'
    (deck.parent / "cards.lock").write_text(f"{header}\n{line}\n", encoding="utf-8")
    with pytest.raises(deckforge.SourceError) as excinfo:
        deckforge.build("cards.toml")
    assert str(excinfo.value).startswith(error)


def test_both_sides_of_a_conflict_keep_their_deletion_numbers(tmp_path: Path) -> None:
    def line(mod: int, deletion: str, last: int) -> str:
        return (
            f'{{"guid": "g", "kind": "cloze", "card": "c", "hash": "h{mod}", "mod": {mod}, '
            f'"cloze": [["{deletion}", 3, "date"]], "last": {last}, "text": "in {deletion}"}}'
        )

    (tmp_path / "cards.lock").write_text(
        '{"deckforge": 2, "deck": "D", "key": "k"}\n'
        f"<<<<<<< HEAD\n{line(5, '1931', 3)}\n=======\n{line(6, '1933', 2)}\n>>>>>>> branch\n",
        encoding="utf-8",
    )
    lock = read_lock(tmp_path / "cards.lock")
    assert lock is not None
    (note,) = lock.notes
    assert (note.mod, note.cloze, note.gone, note.last, lock.merged) == (
        6,
        (("1933", 3, "date"),),
        (),  # 3 is kept: 1933's now
        3,
        1,
    )


def test_a_removal_remembered_costs_nothing_and_a_newer_package_wins(student: Student) -> None:
    first = student.build()
    student.import_(first)
    original = student.source.read_text(encoding="utf-8")
    student.source.write_text(
        original.split('[[cards]]\ntitle = "popular front polcy"')[0], "utf-8"
    )
    without = student.build()
    assert len(without.changes.removed) == 2
    saved = (student.source.read_text("utf-8"), (student.folder / "cards.lock").read_text("utf-8"))
    # the lock remembers the removed notes, and still agrees with the package it built
    lock = read_lock(student.folder / "cards.lock")
    assert lock is not None
    live = [(n.guid, n.mod) for n in lock.notes if not n.removed]
    assert len(live) < len(lock.notes)
    package = student.folder / "dist" / "french-revolution.apkg"
    assert deckforge.package.read_built(package, lock.key, deckforge.identity.state(live)) == []
    # the card comes back and is imported; then source and lock go back to without it
    student.source.write_text(original, encoding="utf-8")
    student.import_(student.build())
    student.source.write_text(saved[0], encoding="utf-8")
    (student.folder / "cards.lock").write_text(saved[1], encoding="utf-8")
    again = student.build()
    assert len(again.changes.removed) == 2  # Anki has them again: they are reported again
