"""`deckforge import outline`: notes kept as an outline or Markdown become a cards.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import deckforge
from deckforge import SourceError, start
from deckforge.cli import cli

from .conftest import DATA, SEED, UPDATE_GOLDEN

VALID = sorted(p for p in (DATA / "outline" / "valid").iterdir() if p.suffix != ".toml")
INVALID = sorted(p for p in (DATA / "outline" / "invalid").iterdir() if p.suffix != ".err")


def test_corpora_are_not_empty() -> None:
    assert VALID
    assert INVALID


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_outline_becomes_the_golden_cards_toml(path: Path) -> None:
    text = start.read(path).to_toml()
    golden = path.with_suffix(".toml")
    if UPDATE_GOLDEN:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    deckforge.loads(text)  # and it is a valid source


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_bad_outline_names_its_lines(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)
    with pytest.raises(SourceError) as excinfo:
        start.read(path.name)
    message = str(excinfo.value) + "\n"
    golden = path.with_suffix(".err")
    if UPDATE_GOLDEN:
        golden.write_text(message, encoding="utf-8")
    assert message == golden.read_text(encoding="utf-8")


def test_seed_import_matches_the_committed_cards_toml() -> None:
    imported = deckforge.loads(start.read(DATA / "seed" / "stalin-foreign-policy.txt").to_toml())
    committed = deckforge.load(SEED)
    assert [(c.title, c.bullets) for c in imported.cards] == [
        (c.title, c.bullets) for c in committed.cards
    ]


def test_every_character_is_kept() -> None:
    # an outline's braces are text, not marks: the deck reads exactly as the outline
    fact = '“quoted” — it’s {{odd}} :: \\ "x" <i> \\{{ }}} {a, b}}'
    source = deckforge.loads(start.parse(f"deck\n• a < b & c\n  • {fact}").to_toml())
    (note,) = deckforge.transform(source)  # no cloze note: nothing is marked
    assert note.text == f"a < b & c\n{fact}"


def test_cli_imports_and_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "seed" / "stalin-foreign-policy.txt", "notes.txt")
    runner = CliRunner()
    first = runner.invoke(cli, ["import", "outline", "notes.txt"])
    assert first.exit_code == 0, first.output
    assert first.stdout == "cards.toml: deck 'stalin foreign policy', 26 cards, 94 bullets\n"
    assert first.stderr == "notes.txt:125: skipped 'See similar decks', a flashcard site's footer\n"
    again = runner.invoke(cli, ["import", "outline", "notes.txt"])
    assert (again.exit_code, again.stderr) == (
        1,
        "cards.toml already exists; use --force to replace it\n",
    )
    assert runner.invoke(cli, ["import", "outline", "notes.txt", "--force"]).exit_code == 0
    piped = runner.invoke(cli, ["import", "outline", "notes.txt", "-o", "-"])
    assert piped.stdout == Path("cards.toml").read_text(encoding="utf-8")
    assert runner.invoke(cli, ["check"]).exit_code == 0


def test_cli_reports_bad_outline_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "outline" / "invalid")
    result = CliRunner().invoke(cli, ["import", "outline", "unplaceable-line.txt", "-o", "-"])
    assert result.exit_code == 1
    assert result.stderr == (
        "unplaceable-line.txt:4:1: cannot place 'this line is neither a topic nor a bullet': "
        "not a topic or a bullet\n"
    )


def test_a_dotted_date_is_no_numbered_item_and_a_numbered_deck_name_is_a_name() -> None:
    result = start.parse(
        "1. Weltkrieg\n- Revolution\n    - Ausrufung der Republik am\n"
        "      9. November 1918 durch Scheidemann\n    - 2. the second fact\n"
    )
    assert result.name == "1. Weltkrieg"
    assert result.topics[0].bullets == [
        "Ausrufung der Republik am 9. November 1918 durch Scheidemann",
        "2. the second fact",
    ]


def test_a_card_count_that_disagrees_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the "Cards (N)" line is the flashcard site's, not the user's: the deck is still made
    monkeypatch.chdir(DATA / "outline" / "valid")
    result = CliRunner().invoke(
        cli, ["import", "outline", "count-mismatch.txt", "-o", str(tmp_path / "cards.toml")]
    )
    assert result.exit_code == 0
    assert result.stderr == (
        "count-mismatch.txt:3:1: says Cards (3) but has 2 topics; all are read (a warning)\n"
    )
    assert [c.title for c in deckforge.load(tmp_path / "cards.toml").cards] == ["germany", "spain"]
