"""``deckforge sync``: straight into a real Anki collection, through the collection file (Anki
closed) and through AnkiConnect (a server speaking its protocol over 127.0.0.1 on a real
collection). Every scenario runs on both, and asks Anki what a student would see.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import deckforge
from deckforge.cli import cli

from . import ankiconnect
from .ankiconnect import AnkiConnectServer
from .student import DECK, Syncing

pytest.importorskip("anki")

WRITES = {"importPackage", "changeDeck", "deleteNotes", "addTags", "modelFieldRename",
          "modelFieldAdd", "modelFieldRemove", "updateModelStyling"}  # fmt: skip


@pytest.fixture(params=["collection", "ankiconnect"])
def student(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Syncing]:
    from anki.collection import Collection

    path = tmp_path / "collection.anki2"
    if request.param == "collection":
        student = Syncing(tmp_path, path, DECK)
        yield student
        student.col.close()
        return
    col = Collection(str(path))
    try:
        with AnkiConnectServer(col) as server:
            yield Syncing(tmp_path, path, DECK, server)
    finally:
        col.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Syncing]:
    """A student whose Anki is running, with AnkiConnect: the test server."""
    from anki.collection import Collection

    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        with AnkiConnectServer(col) as server:
            yield Syncing(tmp_path, tmp_path / "collection.anki2", DECK, server)
    finally:
        col.close()


def guid_of(student: Syncing, words: str) -> str:
    """The GUID of the cloze note with *words*."""
    (guid,) = [g for g, n in student.notes().items() if "Text" in n and words in n["Text"]]
    return guid


def test_a_first_sync_adds_the_deck_and_a_second_changes_nothing(student: Syncing) -> None:
    result = student.sync(backup=True)
    assert [p.summary() for p in result.plans] == [
        f"{student.source}: 8 added, 0 updated, 0 unchanged, 0 tagged removed"
    ]
    assert result.applied
    if student.server:  # the backup is an export of the decks touched: there were none
        assert result.backup is None
    else:  # Anki's own backup, where Anki keeps them
        assert Path(result.backup or "").parent == student.path.parent / "backups"
    student.check(result)
    assert {
        student.col.decks.name(c.did) for c in map(student.col.get_card, student.col.find_cards(""))
    } == {"French revolution"}
    assert student.col.card_count() == 10
    lock = (student.folder / "cards.lock").read_bytes()
    student.no_op_sync()
    assert (student.folder / "cards.lock").read_bytes() == lock


def test_a_typo_fix_updates_in_place_and_keeps_history(student: Syncing) -> None:
    first = student.sync(backup=True)
    student.study('"Topic:popular front polcy"')
    student.edit("polcy", "policy")
    result = student.sync(backup=True)  # (in the same second, often: a backup of its own)
    assert (len(result.plans[0].add), len(result.plans[0].update)) == (0, 2)
    assert result.backup is not None
    assert result.backup != first.backup
    assert all(Path(b).exists() for b in (first.backup, result.backup) if b)
    student.check(result)
    assert "popular front policy adopted" in student.text(guid_of(student, "adopted"))
    student.no_op_sync()


def test_reordered_cards_change_nothing(student: Syncing) -> None:
    student.sync()
    text = student.source.read_text(encoding="utf-8")
    head, *cards = text.split("[[cards]]")
    student.source.write_text("[[cards]]".join([head, *reversed(cards)]), encoding="utf-8")
    student.no_op_sync()


def test_an_inserted_date_adds_a_card_to_the_note(student: Syncing) -> None:
    student.sync()
    (studied,) = student.study('"Text:*bad harvests*"')
    student.edit("bad harvests 1788", "after the hard winter of 1787, bad harvests 1788")
    result = student.sync()
    student.check(result)
    cards = student.col.get_note(student.col.get_card(studied).nid).cards()
    assert [student.asks(c.id) for c in cards] == ["1788", "winter of 1787"]
    assert [c.reps for c in cards] == [1, 0]
    student.no_op_sync()


def test_a_removed_deletion_leaves_an_empty_card_that_delete_removes(student: Syncing) -> None:
    student.sync()
    student.study('"Text:*rapallo*"')  # another note's history, to keep
    student.edit("treaty of amiens 1802 brought", "treaty of amiens brought")
    kept = student.sync()
    (plan,) = kept.plans
    assert len(plan.empty) == 1
    assert "1 empty card left" in plan.summary()
    assert any("empty card left in Anki" in line for line in kept.report())
    assert student.col.card_count() == 10
    (empty,) = student.col.get_empty_cards().notes
    assert list(empty.card_ids) == plan.empty
    deleted = student.sync(delete=True)
    if student.server is None:
        assert student.col.card_count() == 9
        assert not student.col.get_empty_cards().notes
    else:  # AnkiConnect has no action to delete a card: reported
        assert deleted.empty_left
        assert any("Tools → Empty Cards" in line for line in deleted.report())
    student.check(deleted)


def test_a_renamed_deck_moves_its_cards(student: Syncing) -> None:
    student.sync()
    studied = student.study('"Topic:causes"')
    student.edit('name = "French revolution"', 'name = "History::French Revolution"')
    result = student.sync()
    assert len(result.plans[0].move) == student.col.card_count() == 10
    student.check(result)
    decks = {
        student.col.decks.name(student.col.get_card(c).did) for c in student.col.find_cards("")
    }
    assert decks == {"History::French Revolution"}
    assert all(student.col.get_card(c).reps == 1 for c in studied)
    student.no_op_sync()


def test_a_reverted_commit_reaches_anki(student: Syncing) -> None:
    student.git("init", "-q")
    student.sync()
    student.commit("notes")
    student.study('"Text:*rapallo*"')
    guid = guid_of(student, "rapallo")
    student.edit("rapallo treaty in 1922", "rapallo treaty in 1923")
    student.sync()
    student.commit("1923")
    assert "in 1923" in student.text(guid)
    student.git("revert", "--no-edit", "HEAD")  # source and lock go back together
    result = student.sync()
    assert "in 1922" in student.text(guid)
    student.check(result)
    student.no_op_sync()


def test_an_edit_made_in_anki_is_a_conflict_kept_until_forced(student: Syncing) -> None:
    student.sync()
    student.study('"Text:*amiens*"')
    guid = guid_of(student, "amiens")
    note = student.notes()[guid]
    note["Text"] = note["Text"].replace("a pause", "a short pause")  # edited in Anki
    student.col.update_note(note)
    alone = student.notes()[guid_of(student, "estates-general")]
    alone["Text"] += " (at versailles)"  # edited in Anki, its source unchanged
    student.col.update_note(alone)
    student.edit("a pause in the wars", "a pause in the war")  # and the source too
    student.edit("popular front polcy adopted", "popular front polcy was adopted")

    result = student.sync()
    (plan,) = result.plans
    ((anki, source),) = [c.texts() for c in result.conflicts]
    assert "a short pause" in anki
    assert source.endswith("a pause in the war")
    assert [c.note.guid for c in plan.kept] == [alone.guid]
    assert len(plan.update) == 3  # the source's other edits went in: both notes of a card,
    # and the question/answer note of the conflict's card (it was not edited in Anki)
    assert "a short pause" in student.text(guid)
    assert "(at versailles)" in student.text(alone.guid)
    assert "was adopted" in student.text(guid_of(student, "adopted"))
    assert any(
        line.startswith("  conflict: 'peace' was edited in Anki") for line in result.report()
    )
    again = student.sync()  # still a conflict: its lock entry was not moved on
    assert len(again.conflicts) == 1
    assert len(again.plans[0].update) == 0

    forced = student.sync(force=True)
    assert {c.note.guid for c in forced.plans[0].forced} == {guid, alone.guid}
    assert student.text(guid).endswith("a pause in the war")
    assert "(at versailles)" not in student.text(alone.guid)
    student.check(forced)
    student.no_op_sync()


def test_tags_of_the_students_own_survive_an_update(student: Syncing) -> None:
    student.sync()
    guid = guid_of(student, "amiens")
    note = student.notes()[guid]
    note.tags += ["marked", "exam::june"]  # as the browser's Toggle Mark and Add Tags do
    student.col.update_note(note)
    student.edit("a pause in the wars", "a pause in the war")
    result = student.sync()
    assert len(result.plans[0].update) == 2
    assert not result.conflicts
    tags = set(student.notes()[guid].tags)
    assert {"marked", "exam::june", "deckforge::cloze"} <= tags
    student.no_op_sync()


def test_delete_removes_exactly_the_notes_whose_source_is_gone(student: Syncing) -> None:
    from anki.collection import Collection

    student.sync()
    studied = student.study('"Topic:causes"')
    # a note of the student's own, and one of deckforge's note type the lock never knew
    basic = student.col.new_note(student.col.models.by_name("Basic"))
    basic["Front"], basic["Back"] = "peace", "treaty of amiens 1802"
    student.col.add_note(basic, student.col.decks.id("French revolution"))
    stranger = student.col.new_note(student.col.models.by_name("deckforge Cloze"))
    stranger["Text"] = "{{c1::1066}} hastings"
    student.col.add_note(stranger, student.col.decks.id("French revolution"))
    head, causes, _peace, popular = student.source.read_text(encoding="utf-8").split("[[cards]]")
    student.source.write_text("[[cards]]".join([head, causes, popular]), encoding="utf-8")

    tagged = student.sync()
    (plan,) = tagged.plans
    assert len(plan.remove) == 3  # the card's question/answer note and its two cloze notes
    gone = {n.guid for n in plan.remove}
    assert all("deckforge::removed" in student.notes()[g].tags for g in gone)
    student.no_op_sync()  # tagged once

    deleted = student.sync(delete=True)
    assert {n.guid for n in deleted.plans[0].remove} == gone
    left = student.notes()
    assert gone.isdisjoint(left)
    assert {basic.guid, stranger.guid} <= set(left)
    assert len(left) == 5 + 2  # the other two cards' notes, and the two not deckforge's
    assert all(student.col.get_card(c).reps == 1 for c in studied)
    assert isinstance(student.col, Collection)
    student.no_op_sync()


def test_a_dry_run_changes_nothing(student: Syncing) -> None:
    student.sync()
    student.edit("polcy", "policy")
    student.edit('name = "French revolution"', 'name = "Revolution"')
    lock = (student.folder / "cards.lock").read_bytes()
    with student.closed():
        before = hashlib.sha256(student.path.read_bytes()).hexdigest()
    calls = len(student.server.calls) if student.server else 0
    result = student.sync(dry_run=True)
    assert not result.applied
    assert len(result.plans[0].update) == 8
    assert result.plans[0].move
    (line,) = [line for line in result.report() if line.startswith(str(student.source))]
    assert line.endswith("(dry run)")
    assert (student.folder / "cards.lock").read_bytes() == lock
    if student.server is None:
        with student.closed():
            assert hashlib.sha256(student.path.read_bytes()).hexdigest() == before
    else:
        assert WRITES.isdisjoint(student.server.calls[calls:])


def test_a_collection_open_in_anki_gets_a_clear_message(tmp_path: Path) -> None:
    from anki.collection import Collection

    (tmp_path / "cards.toml").write_text(DECK, encoding="utf-8")
    col = Collection(str(tmp_path / "collection.anki2"))  # Anki is running
    try:
        shown = CliRunner().invoke(
            cli, ["sync", str(tmp_path / "cards.toml"), "--collection", col.path]
        )
    finally:
        col.close()
    assert shown.exit_code == 1
    assert shown.stderr == (
        f"{col.path} is open in Anki (or another program): close Anki, or use --ankiconnect\n"
    )
    assert not (tmp_path / "cards.lock").exists()


def test_a_sync_after_an_import_adopts_the_notes(student: Syncing) -> None:
    first = student.build()
    student.import_(first)
    student.study('"Topic:peace"')
    result = student.sync()
    assert [(len(p.add), len(p.update), p.unchanged) for p in result.plans] == [(0, 0, 8)]
    student.check(result)
    student.edit("polcy", "policy")
    student.check(student.sync())
    # and back to importing
    rebuilt = student.build()
    assert rebuilt.changes.summary().startswith("0 added, 0 updated")
    student.import_(rebuilt)
    student.check(rebuilt)


def test_a_build_never_imported_is_no_edit_in_anki(student: Syncing) -> None:
    student.sync()
    student.edit("polcy", "policy")
    student.build()  # built, never imported: Anki has the older text
    result = student.sync()
    assert not result.conflicts
    assert len(result.plans[0].update) == 2
    student.check(result)


def test_fields_renamed_in_anki_are_put_back(student: Syncing) -> None:
    student.sync()
    model = student.col.models.by_name("deckforge Q/A")
    student.col.models.rename_field(model, model["flds"][1], "Back")
    student.col.models.update_dict(model)
    student.edit("polcy", "policy")
    result = student.sync()
    assert [str(c) for c in result.fields] == [
        "the fields of deckforge's qa note type: Topic, Back, Context, Images → "
        "Topic, Facts, Context, Images"
    ]
    assert student.col.models.field_names(student.col.models.by_name("deckforge Q/A"))[1] == "Facts"
    student.check(result)


def test_a_field_added_in_anki_is_refused_unless_a_full_sync_is_allowed(student: Syncing) -> None:
    student.sync()
    model = student.col.models.by_name("deckforge Cloze")
    student.col.models.add_field(model, student.col.models.new_field("Mnemonic"))
    student.col.models.update_dict(model)
    with pytest.raises(deckforge.DeckforgeError, match="--allow-full-sync") as excinfo:
        student.sync()
    assert "Text, Topic, Context, Images, Mnemonic" in str(excinfo.value)
    result = student.sync(allow_full_sync=True)
    assert len(result.fields) == 1
    fields = student.col.models.field_names(student.col.models.by_name("deckforge Cloze"))
    assert fields == ["Text", "Topic", "Context", "Images"]
    student.check(result)


def test_a_sync_that_stops_part_way_says_what_was_done(served: Syncing) -> None:
    student, tmp_path = served, served.folder
    student.sync()
    student.edit("polcy", "policy")
    student.edit('name = "French revolution"', 'name = "Revolution"')
    lock = (tmp_path / "cards.lock").read_bytes()
    change_deck = ankiconnect.ACTIONS.pop("changeDeck")  # an add-on without it
    try:
        with pytest.raises(deckforge.SyncError) as excinfo:
            student.sync()
    finally:
        ankiconnect.ACTIONS["changeDeck"] = change_deck
    assert str(excinfo.value).splitlines() == [
        "sync stopped: 10 cards moved into 'Revolution': AnkiConnect: changeDeck: "
        "unsupported action",
        "  done: 0 notes added and 8 updated",
        "  not done: 10 cards moved into 'Revolution'",
        f"  not done: {tmp_path / 'cards.lock'} and the packages in {tmp_path / 'dist'} written",
        "The lock files are as they were; sync again to finish.",
    ]
    assert (tmp_path / "cards.lock").read_bytes() == lock
    finished = student.sync()
    assert [(len(p.update), len(p.move)) for p in finished.plans] == [(0, 10)]
    student.check(finished)
    student.no_op_sync()


def test_the_command_reports_conflicts_with_status_3_and_json(student: Syncing) -> None:
    student.sync()
    guid = guid_of(student, "amiens")
    note = student.notes()[guid]
    note["Text"] += "!"
    student.col.update_note(note)
    student.edit("a pause in the wars", "a pause in the war")
    where = ["--ankiconnect", student.into] if student.server else ["--collection", student.into]
    with student.closed():
        shown = CliRunner().invoke(
            cli, ["sync", str(student.source), *where, "--json", "-o", str(student.folder / "dist")]
        )
    assert shown.exit_code == 3, shown.output
    (source,) = json.loads(shown.stdout)["sources"]
    assert [c["guid"] for c in source["conflicts"]] == [guid]
    assert source["conflicts"][0]["anki"].endswith("!")


def test_the_command_needs_one_place_to_sync_into(tmp_path: Path) -> None:
    shown = CliRunner().invoke(cli, ["sync", str(tmp_path / "cards.toml")])
    assert shown.exit_code == 2
    assert "give --collection PATH or --ankiconnect [URL]" in shown.stderr
    (tmp_path / "cards.toml").write_text(DECK, encoding="utf-8")
    shown = CliRunner().invoke(
        cli, ["sync", str(tmp_path / "cards.toml"), "--ankiconnect", "http://127.0.0.1:9"]
    )
    assert shown.exit_code == 1
    assert shown.stderr.startswith("cannot reach AnkiConnect at http://127.0.0.1:9 (")
    assert shown.stderr.endswith("is Anki running, with the AnkiConnect add-on?\n")


def test_the_test_server_answers_as_the_add_on_does(tmp_path: Path) -> None:
    from anki.collection import Collection

    from deckforge.backends import AnkiConnect

    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        with AnkiConnectServer(col) as server:
            client = AnkiConnect(server.url, tmp_path)
            note = {
                "deckName": "Default",
                "modelName": "Basic",
                "fields": {"Front": "a", "Back": "b"},
            }
            nid = client.call("addNote", note=note)
            with pytest.raises(deckforge.DeckforgeError, match="it is a duplicate"):
                client.call("addNote", note=note)
            missing = {**note, "deckName": "Nowhere", "fields": {"Front": "c"}}
            with pytest.raises(deckforge.DeckforgeError, match="deck was not found: Nowhere"):
                client.call("addNote", note=missing)
            assert (
                client.call("addNotes", notes=[note, {**note, "fields": {"Front": "d"}}])[0] is None
            )
            (info,) = client.call("notesInfo", notes=[nid])
            assert "guid" not in info
            assert info["fields"]["Front"]["value"] == "a"
            with pytest.raises(deckforge.DeckforgeError, match="unsupported action"):
                client.call("findNotesByGuid", guid=col.get_note(nid).guid)
            with pytest.raises(deckforge.DeckforgeError, match="Note was not found: 42"):
                client.call("updateNoteFields", note={"id": 42, "fields": {"Front": "x"}})
    finally:
        col.close()


def test_text_typed_in_decomposed_form_syncs_as_a_no_op(student: Syncing) -> None:
    # "café" typed as "e" and a combining accent, as some keyboards do; Anki stores "é"
    student.edit("a pause in the wars", "a pause in the wars, cafe\u0301 talks")
    student.sync()
    student.no_op_sync()


def test_cards_the_student_put_in_other_decks_stay_there(student: Syncing) -> None:
    student.sync()
    (hard,) = student.col.find_cards('"Text:*bad harvests*"')
    student.col.set_deck([hard], student.col.decks.id("French revolution::Hard"))
    (exam,) = student.col.find_cards('"Text:*estates-general*"')
    student.col.set_deck([exam], student.col.decks.id("Exam prep"))
    student.edit("polcy", "policy")
    student.edit("met in may 1789", "met in may 1789 at versailles")
    result = student.sync()
    assert result.plans[0].move == []
    assert student.col.decks.name(student.col.get_card(hard).did) == "French revolution::Hard"
    assert student.col.decks.name(student.col.get_card(exam).did) == "Exam prep"
    assert "versailles" in student.col.get_card(exam).note()["Text"]
    student.no_op_sync()
    # and when the deck is renamed, they stay too
    student.edit('name = "French revolution"', 'name = "History::French revolution"')
    renamed = student.sync()
    assert len(renamed.plans[0].move) == 8
    assert student.col.decks.name(student.col.get_card(hard).did) == "French revolution::Hard"
    assert student.col.decks.name(student.col.get_card(exam).did) == "Exam prep"
    student.no_op_sync()


def test_a_note_the_student_moved_away_is_still_its_note(student: Syncing) -> None:
    student.sync()
    note = student.notes()[guid_of(student, "bad harvests")]
    note["Text"] += " (my mnemonic)"
    note.tags += ["marked", "mine"]
    student.col.update_note(note)
    student.col.set_deck([c.id for c in note.cards()], student.col.decks.id("Exam prep"))
    student.edit("drove bread prices up", "drove bread prices higher")
    result = student.sync()
    assert len(result.conflicts) == 1  # found where the student put it: not added again
    assert not result.plans[0].add
    again = student.notes()[note.guid]
    assert again["Text"].endswith(" (my mnemonic)")
    assert {"marked", "mine"} <= set(again.tags)
    assert len(student.notes()) == 8
    # and in a filtered deck (Custom Study), the same
    filtered = student.col.decks.new_filtered("Custom Study Session")
    deck = student.col.decks.get(filtered)
    deck["terms"] = [['"deck:Exam prep"', 100, 0]]
    student.col.decks.save(deck)
    student.col.sched.rebuild_filtered_deck(filtered)
    (card,) = student.col.get_note(note.id).cards()
    assert student.col.decks.name(card.did) == "Custom Study Session"
    assert len(student.sync().conflicts) == 1
    assert len(student.notes()) == 8


def test_a_deck_name_anki_reads_otherwise_syncs_as_a_no_op(student: Syncing) -> None:
    student.edit('name = "French revolution"', 'name = "French Revolution :: Causes "')
    student.sync()
    student.no_op_sync()


def test_a_replaced_image_reaches_anki(student: Syncing) -> None:
    student.edit('title = "peace"', 'title = "peace"\nimages = ["map.png"]')
    (student.folder / "map.png").write_bytes(b"\x89PNG first map")
    student.sync()
    (student.folder / "map.png").write_bytes(b"\x89PNG second map")
    result = student.sync()
    assert len(result.plans[0].update) == 3  # the card's notes show the new image
    images = student.notes()[guid_of(student, "amiens")]["Images"]
    (name,) = re.findall(r'<img src="([^"]+)">', images)
    assert (Path(student.col.media.dir()) / name).read_bytes() == b"\x89PNG second map"
    student.no_op_sync()


def test_delete_spares_a_note_edited_in_anki_unless_forced(student: Syncing) -> None:
    student.sync()
    note = student.notes()[guid_of(student, "amiens")]
    note["Text"] += "<br>my mnemonic"
    student.col.update_note(note)
    student.edit('    "treaty of amiens 1802 brought a pause in the wars",\n', "")
    result = student.sync(delete=True)
    assert [n.guid for n in result.plans[0].spared] == [note.guid]
    assert result.left_alone == 1
    assert any("edited in Anki, tagged deckforge::removed" in line for line in result.report())
    assert "deckforge::removed" in student.notes()[note.guid].tags
    assert note.guid not in student.notes() or student.sync(delete=True, force=True)
    assert note.guid not in student.notes()


def test_a_new_card_never_takes_the_history_of_a_deleted_one(student: Syncing) -> None:
    student.sync()
    studied = student.study("")
    student.edit('    "rapallo treaty in 1922 settled the border",\n', "")
    student.sync(delete=True)
    time.sleep(1)  # a later sync: ids count up from its time, as Anki's do
    bullets = ",".join(f'"new fact number {i} in {1900 + i}"' for i in range(12))
    text = student.source.read_text(encoding="utf-8")
    student.source.write_text(text + f'\n[[cards]]\ntitle = "new"\nbullets = [{bullets}]\n')
    student.sync()
    reviewed = set(student.col.db.list("select distinct cid from revlog"))
    assert reviewed <= set(studied)
    for card_id in student.col.find_cards('"Topic:new"'):
        assert student.reviews(card_id) == []


def test_a_template_added_in_anki_is_kept_and_the_notes_still_update(student: Syncing) -> None:
    student.sync()
    models = student.col.models
    model = models.by_name("deckforge Q/A")
    reverse = models.new_template("Reverse")
    reverse["qfmt"], reverse["afmt"] = "{{Facts}}", "{{Topic}}"
    models.add_template(model, reverse)
    models.update_dict(model)
    student.edit("polcy", "policy")
    result = student.sync()
    student.check(result)
    models = student.col.models  # (reopened)
    (model,) = [m for m in models.all_names_and_ids() if m.name.startswith("deckforge Q/A")]
    assert [t["name"] for t in models.get(model.id)["tmpls"]] == ["Q/A", "Reverse"]
    student.no_op_sync()


def test_an_update_anki_silently_skipped_is_an_error(served: Syncing) -> None:
    student, tmp_path = served, served.folder
    student.sync()
    student.edit("polcy", "policy")
    lock = (tmp_path / "cards.lock").read_bytes()
    real = ankiconnect.ACTIONS["importPackage"]
    # as when the note is open in Anki's browser (AnkiConnect issue 82): "done", but not
    ankiconnect.ACTIONS["importPackage"] = lambda col, path: True
    try:
        with pytest.raises(deckforge.SyncError) as excinfo:
            student.sync()
    finally:
        ankiconnect.ACTIONS["importPackage"] = real
    assert str(excinfo.value).splitlines()[0] == (
        "sync stopped: 0 notes added and 2 updated: Anki did not update 2 notes of 2 "
        "(the first: 'popular front policy'): was a note type of deckforge's changed in "
        "Anki, or is the note open in Anki's browser?"
    )
    assert (tmp_path / "cards.lock").read_bytes() == lock
    student.check(student.sync())


def test_the_maintainers_check_against_real_anki_passes_here(tmp_path: Path) -> None:
    from anki.collection import Collection

    from .ankiconnect_check import check

    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        with AnkiConnectServer(col) as server:
            said = check(server.url, tmp_path)
        assert said[-1] == "ok"
        assert col.note_count() == 0  # the check's deck is deleted at the end
        assert [d.name for d in col.decks.all_names_and_ids()] == ["Default"]
    finally:
        col.close()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "an empty file"),
        (b"my notes", "a text file"),
        (None, "an SQLite database of another program"),
    ],
)
def test_a_file_that_is_no_collection_is_refused_and_left_alone(
    tmp_path: Path, content: bytes | None, why: str
) -> None:
    import sqlite3

    path = tmp_path / "prefs21.db"
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute("create table profiles (name text, data blob)")
        db.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    (tmp_path / "cards.toml").write_text(DECK, encoding="utf-8")
    shown = CliRunner().invoke(
        cli, ["sync", str(tmp_path / "cards.toml"), "--collection", str(path)]
    )
    assert shown.exit_code == 1, why
    assert shown.stderr == (
        f"{path}: not an Anki collection (the collection.anki2 file in a profile's folder of "
        "Anki's)\n"
    )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards.toml", "prefs21.db"]


def test_an_ankiconnect_address_without_http_is_taken_as_one(tmp_path: Path) -> None:
    from anki.collection import Collection

    (tmp_path / "cards.toml").write_text(DECK, encoding="utf-8")
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        with AnkiConnectServer(col) as server:
            address = server.url.removeprefix("http://")
            shown = CliRunner().invoke(
                cli, ["sync", str(tmp_path / "cards.toml"), "--ankiconnect", address]
            )
        assert shown.exit_code == 0, shown.output
        assert col.note_count() == 8
    finally:
        col.close()
    shown = CliRunner().invoke(
        cli, ["sync", str(tmp_path / "cards.toml"), "--ankiconnect", "ftp://127.0.0.1"]
    )
    assert shown.exit_code == 2
    assert "ftp://127.0.0.1: not an http:// URL" in shown.stderr


def test_two_files_of_one_deck_name_sync_together(tmp_path: Path) -> None:
    from anki.collection import Collection

    def week(fact: str) -> str:
        card = deckforge.Card(title="summary", bullets=[fact])
        return deckforge.dumps(deckforge.Source(deck=deckforge.Deck(name="History"), cards=[card]))

    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "week1.toml").write_text(week("treaty of versailles 1919"))
    (tmp_path / "decks" / "week2.toml").write_text(week("treaty of riga 1921"))
    Collection(str(tmp_path / "c.anki2")).close()
    into, out = str(tmp_path / "c.anki2"), tmp_path / "dist"
    result = deckforge.sync([tmp_path / "decks"], into, out_dir=out)
    assert [len(p.add) for p in result.plans] == [2, 2]
    again = deckforge.sync([tmp_path / "decks"], into, out_dir=out)
    assert [p.unchanged for p in again.plans] == [2, 2]
    assert sorted(out.glob("*.apkg")) == [out / "history.apkg"]  # a part for each
