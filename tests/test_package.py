"""The .apkg: opened as a zip and imported into a real Anki collection with the anki package."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest

import deckforge
from deckforge import Card, Deck, PackageError, Source

from .conftest import DATA, SEED, UPDATE_GOLDEN, import_package, package_entries


@pytest.fixture
def seed_package(seed_copy: Path) -> Path:  # a first build: no lock file
    return deckforge.build(seed_copy, seed_copy.parent / "dist").package.path


def test_build_writes_the_deck_slug_into_the_output_folder(seed_package: Path) -> None:
    assert seed_package.name == "stalin-foreign-policy.apkg"
    assert package_entries(seed_package) == ["collection.anki2", "media"]
    # nothing but the package and the build lock: no temporary file is left
    assert sorted(os.listdir(seed_package.parent)) == [".deckforge.lock", seed_package.name]


def test_package_imports_into_anki_as_the_seed_deck(seed_package: Path, collection: Any) -> None:
    log = import_package(collection, seed_package)
    source = deckforge.load(SEED)
    assert len(log.new) == 64
    assert collection.decks.all_names_and_ids(skip_empty_default=True)[0].name == (
        "Stalin foreign policy"
    )
    assert len(collection.decks.all_names_and_ids(skip_empty_default=True)) == 1

    qa_notes = collection.find_notes('"note:deckforge Q/A"')
    cloze_notes = collection.find_notes('"note:deckforge Cloze"')
    assert len(qa_notes) == 26
    assert len(cloze_notes) == 38
    assert collection.card_count() == 26 + sum(
        len(collection.get_note(nid).cards()) for nid in cloze_notes
    )
    assert not collection.get_empty_cards().notes

    notes = [collection.get_note(nid) for nid in collection.find_notes("")]
    assert all("deckforge::topic::" in " ".join(n.tags) for n in notes)
    assert all({"history", "ussr"} <= set(n.tags) for n in notes)
    facts = "".join(collection.get_note(nid)["Facts"] for nid in qa_notes)
    for card in source.cards:
        for bullet in card.bullets:
            assert f"<li>{bullet}</li>" in facts  # the seed has no characters HTML escapes


def test_cloze_cards_render_with_deletions(seed_package: Path, collection: Any) -> None:
    import_package(collection, seed_package)
    (nid,) = collection.find_notes('"Text:{{c1::1926}} = {{c2::treaty of berlin}}"')
    cards = collection.get_note(nid).cards()
    assert len(cards) == 2
    assert 'data-cloze="1926"' in cards[0].question()
    assert 'data-cloze="treaty&#x20;of&#x20;berlin"' in cards[1].question()
    assert "germany" in cards[0].question()


def test_importing_the_same_build_twice_adds_nothing(seed_package: Path, collection: Any) -> None:
    first = import_package(collection, seed_package)
    notes, cards = collection.note_count(), collection.card_count()
    again = import_package(collection, seed_package)
    assert len(first.new) == 64
    assert (len(again.new), len(again.updated)) == (0, 0)
    assert len(again.duplicate) == 64
    assert (collection.note_count(), collection.card_count()) == (notes, cards)


def test_notes_carry_their_ids_and_mods(seed_copy: Path, tmp_path: Path) -> None:
    result = deckforge.build(seed_copy, tmp_path / "dist")
    with zipfile.ZipFile(result.package.path) as zf:
        (tmp_path / "c.anki2").write_bytes(zf.read("collection.anki2"))
    db = sqlite3.connect(tmp_path / "c.anki2")
    rows = list(db.execute("SELECT guid, mod FROM notes ORDER BY id"))
    db.close()
    assert rows == [(n.guid, n.mod) for n in result.notes]
    assert len({mod for _, mod in rows}) == 1  # a first build: every note new, at one time
    assert rows[0][1] > 1_700_000_000


def test_failed_build_keeps_the_previous_package(tmp_path: Path) -> None:
    source = deckforge.load(SEED)
    target = tmp_path / "deck.apkg"
    deckforge.export(source.deck, deckforge.transform(source), target)
    before = target.read_bytes()
    broken = deckforge.transform(source)
    broken[1] = broken[1]._replace(fields=("no deletion", "", "", ""))
    with pytest.raises(PackageError, match="does not hold its deletions"):
        deckforge.export(source.deck, broken, target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["deck.apkg"]


def test_unwritable_output_is_a_package_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    source = Source(deck=Deck(name="x"), cards=[Card(title="t", bullets=["b"])])
    with pytest.raises(PackageError, match=r"cannot write .*file/x\.apkg"):
        deckforge.export(source.deck, deckforge.transform(source), blocker / "x.apkg")


def test_the_repository_deck_builds_to_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no new option used, a deck builds byte for byte as it did (the package's hash is a
    golden file: refreshed deliberately, when the package should change)."""
    shutil.copy(SEED, tmp_path / "cards.toml")
    shutil.copy(SEED.with_suffix(".lock"), tmp_path / "cards.lock")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    result = deckforge.build(tmp_path / "cards.toml", tmp_path / "dist")
    digest = hashlib.sha256(result.package.path.read_bytes()).hexdigest()
    golden = DATA / "seed.apkg.sha256"
    if UPDATE_GOLDEN:
        golden.write_text(digest + "\n", encoding="utf-8")
    assert digest + "\n" == golden.read_text(encoding="utf-8")
