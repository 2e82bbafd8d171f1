"""A deck's own styling (``[style] css = "deck.css"``): it reaches Anki on the next import or
sync, changes nothing else there, and an unchanged rebuild never overwrites CSS the student
edited in Anki."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import deckforge
from deckforge import package

from .student import DECK, Student, Syncing
from .test_sync import student  # noqa: F401 - the fixture, on both backends

STYLED = DECK.replace("[deck]\n", '[style]\ncss = "deck.css"\n\n[deck]\n', 1)


def css_in_anki(col: Any) -> list[str]:
    col.models._clear_cache()  # what the collection holds now, not what was read before
    return [col.models.get(model)["css"] for model in (package.QA_MODEL_ID, package.CLOZE_MODEL_ID)]


@pytest.fixture
def anki(tmp_path: Path, collection: Any) -> Student:
    return Student(tmp_path, collection, DECK)


def test_a_style_reaches_anki_on_import_and_changes_nothing_else(anki: Student) -> None:
    first = anki.build()
    anki.import_(first)
    anki.study('"Text:*bad harvests*"')
    note_types = len(anki.col.models.all_names_and_ids())
    (anki.folder / "deck.css").write_text(".card { color: darkred; }\n", encoding="utf-8")
    anki.source.write_text(STYLED, encoding="utf-8")
    styled = anki.build()
    assert styled.changes.summary().startswith("0 added, 8 updated")  # shown in a new style
    log = anki.import_(styled)
    assert not log.conflicting
    assert all(".card { color: darkred; }" in css for css in css_in_anki(anki.col))
    assert all(css.startswith(package.CSS) for css in css_in_anki(anki.col))  # after ours
    assert len(anki.col.models.all_names_and_ids()) == note_types  # no renamed copy
    anki.check(styled)  # the same notes, their text, every reviewed card's history
    # restyled again: Anki has the newest
    (anki.folder / "deck.css").write_text(".card { color: navy; }\n", encoding="utf-8")
    anki.import_(anki.build())
    assert all("navy" in css and "darkred" not in css for css in css_in_anki(anki.col))
    # the style given up: ours again
    anki.source.write_text(DECK, encoding="utf-8")
    anki.import_(anki.build())
    assert css_in_anki(anki.col) == [package.CSS, package.CSS]


def test_an_unchanged_rebuild_keeps_css_the_student_edited_in_anki(anki: Student) -> None:
    (anki.folder / "deck.css").write_text(".card { color: darkred; }\n", encoding="utf-8")
    anki.source.write_text(STYLED, encoding="utf-8")
    anki.import_(anki.build())
    for model in (package.QA_MODEL_ID, package.CLOZE_MODEL_ID):
        note_type = anki.col.models.get(model)
        note_type["css"] += "\n.card { font-size: 30px; }"  # the student's own tweak
        anki.col.models.update_dict(note_type)
    again = anki.build()
    assert again.changes.summary() == "0 added, 0 updated, 8 unchanged, 0 removed"
    anki.import_(again)
    assert all("font-size: 30px" in css for css in css_in_anki(anki.col))


def test_replace_uses_the_file_alone(tmp_path: Path) -> None:
    (tmp_path / "deck.css").write_text(".card { color: navy; }\n", encoding="utf-8")
    (tmp_path / "cards.toml").write_text(
        STYLED.replace('css = "deck.css"', 'css = "deck.css"\nreplace = true'), encoding="utf-8"
    )
    source = deckforge.load(tmp_path / "cards.toml")
    assert deckforge.pipeline.style_of(source, tmp_path / "cards.toml") == (
        ".card { color: navy; }\n"
    )


def test_a_missing_style_file_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "cards.toml").write_text(STYLED, encoding="utf-8")
    with pytest.raises(deckforge.SourceError) as e:
        deckforge.load(tmp_path / "cards.toml")
    assert str(e.value).endswith(
        f"cards.toml:2:7: style.css: no such file: 'deck.css' (relative to {tmp_path.as_posix()})"
    )


def test_decks_in_one_package_share_one_style(tmp_path: Path) -> None:
    (tmp_path / "deck.css").write_text(".card { color: navy; }\n", encoding="utf-8")
    (tmp_path / "a.toml").write_text(STYLED, encoding="utf-8")
    (tmp_path / "b.toml").write_text(DECK.replace("French revolution", "Other"), encoding="utf-8")
    with pytest.raises(deckforge.DeckforgeError, match="give them the same"):
        deckforge.build_all([tmp_path], tmp_path / "dist", bundle="Both")


def test_a_style_built_before_it_is_synced_still_reaches_anki(student: Syncing) -> None:  # noqa: F811
    student.sync()
    (student.folder / "deck.css").write_text(".card { color: darkred; }\n", encoding="utf-8")
    student.source.write_text(STYLED, encoding="utf-8")
    student.build()  # the lock now has the style: the sync still sees Anki lacks it
    assert "the cards' style (CSS) would be set" in student.sync(dry_run=True).report()
    student.sync()
    assert all("darkred" in css for css in css_in_anki(student.col))
    student.no_op_sync()


def test_a_style_reaches_anki_through_sync(student: Syncing) -> None:  # noqa: F811
    student.sync()
    (student.folder / "deck.css").write_text(".card { color: darkred; }\n", encoding="utf-8")
    student.source.write_text(STYLED, encoding="utf-8")
    result = student.sync()
    assert [(len(p.add), len(p.update)) for p in result.plans] == [(0, 0)]  # no note touched
    assert all("darkred" in css for css in css_in_anki(student.col))
    student.no_op_sync()
    student.source.write_text(DECK, encoding="utf-8")  # the style given up: ours again
    student.sync()
    assert css_in_anki(student.col) == [package.CSS, package.CSS]


def test_the_first_build_of_a_styled_deck_is_no_change_of_style(anki: Student) -> None:
    (anki.folder / "deck.css").write_text(".card { color: navy; }\n", encoding="utf-8")
    anki.source.write_text(STYLED, encoding="utf-8")
    assert not any("style" in line for line in anki.build().changes.advice())


def test_diff_says_a_changed_style_updates_every_note(anki: Student) -> None:
    from click.testing import CliRunner

    from deckforge.cli import cli

    anki.build()
    (anki.folder / "deck.css").write_text(".card { color: navy; }\n", encoding="utf-8")
    anki.source.write_text(STYLED, encoding="utf-8")
    shown = CliRunner().invoke(cli, ["diff", str(anki.source), "-o", str(anki.folder / "dist")])
    assert "0 added, 8 updated, 0 unchanged, 0 removed" in shown.stdout
    assert "The deck's style ([style]) changed: every note is updated" in shown.stdout
