"""Loading cards.toml: every mistake is reported with file, line, column and card."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import deckforge
from deckforge import Card, Deck, Source, SourceError
from deckforge.cli import cli

from .conftest import DATA, SEED, UPDATE_GOLDEN

INVALID = sorted((DATA / "invalid").glob("*.toml"))
VALID = deckforge.sources_in([DATA / "valid"])  # but the files they include


def test_corpora_are_not_empty() -> None:
    assert INVALID
    assert VALID


def test_the_bad_input_corpus_is_large() -> None:
    assert len(INVALID) >= 40


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_source_reports_located_problems(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(path.parent)
    result = CliRunner().invoke(cli, ["check", path.name])
    message = result.stderr
    golden = path.with_suffix(".err")
    if UPDATE_GOLDEN:
        golden.write_text(message, encoding="utf-8")
    assert (result.exit_code, result.stdout) == (1, "")
    assert message == golden.read_text(encoding="utf-8")
    assert "Traceback" not in message
    assert result.exception is None or isinstance(result.exception, SystemExit)
    # every line: file, line and column, then where and what
    assert all(
        re.match(rf"{re.escape(path.name)}:\d+:\d+: ", line) for line in message.splitlines()
    )


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_source_gives_the_golden_notes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each valid source beside the notes it makes, as `deckforge preview --json` prints them
    monkeypatch.chdir(path.parent)
    result = CliRunner().invoke(cli, ["preview", "--json", path.name])
    assert result.exit_code == 0, result.output
    golden = path.with_suffix(".json")
    if UPDATE_GOLDEN:
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_seed_deck_is_the_users_notes_verbatim() -> None:
    source = deckforge.load(SEED)
    # tests/data/seed/ holds a copy of the user's original notes
    seed = (DATA / "seed" / "stalin-foreign-policy.txt").read_text(encoding="utf-8")
    assert source.deck.name == "Stalin foreign policy"
    assert len(source.cards) == 26
    assert [c.title for c in source.cards][:3] == ["attitudes 1924-29"] + ["china 1924-29"] * 2
    bullets = [b for card in source.cards for b in card.bullets]
    assert len(bullets) == 94
    for card in source.cards:
        assert f"    • {card.title}\n" in seed
        for bullet in card.bullets:
            assert f"      • {bullet}\n" in seed + "\n"


def test_problems_are_collected_across_the_file() -> None:
    with pytest.raises(SourceError) as excinfo:
        deckforge.load(DATA / "invalid" / "wrong-types.toml")
    assert len(excinfo.value.problems) == 5


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.toml: cannot read file: No such file"):
        deckforge.load(tmp_path / "nope.toml")


def test_loads_names_its_origin() -> None:
    with pytest.raises(SourceError, match=r"^<string>:1:1: missing required key 'deck'"):
        deckforge.loads("")


def test_decks_can_be_built_in_code() -> None:
    source = Source(
        deck=Deck(name="Chemistry", tags=["science"]),
        cards=[Card(title="atoms", bullets=["Dalton's atomic theory, 1808"])],
    )
    assert source.cards[0].bullets == ("Dalton's atomic theory, 1808",)
    with pytest.raises(ValueError, match="must not be empty"):
        Card(title="atoms", bullets=[" "])


def test_a_card_is_limited_in_its_title_and_bullets_together(tmp_path: Path) -> None:
    # 10 bullets of 9,999 characters, and a title of 11: 100,001 characters in all
    bullets = ", ".join(f'"{i}{"x" * 9_998}"' for i in range(10))
    source = f'[deck]\nname = "d"\n[[cards]]\ntitle = "01234567890"\nbullets = [{bullets}]\n'
    (tmp_path / "cards.toml").write_text(source, encoding="utf-8")
    with pytest.raises(SourceError) as excinfo:
        deckforge.load(tmp_path / "cards.toml")
    assert str(excinfo.value).endswith(
        ':3:1: cards[0] ("01234567890"): holds 100001 characters in its title and bullets; '
        "the most is 100000 (split the card)"
    )
    (tmp_path / "cards.toml").write_text(source.replace("01234567890", "t" * 10), "utf-8")
    assert deckforge.load(tmp_path / "cards.toml")  # 100,000: within the limit


def test_git_conflict_markers_in_a_source_are_named(tmp_path: Path) -> None:
    (tmp_path / "cards.toml").write_text(
        '[deck]\nname = "d"\n[[cards]]\ntitle = "t"\n<<<<<<< HEAD\nbullets = ["a"]\n'
        '=======\nbullets = ["b"]\n>>>>>>> branch\n',
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as excinfo:
        deckforge.load(tmp_path / "cards.toml")
    assert str(excinfo.value).endswith(
        "cards.toml:5:1: cards[0]: Invalid statement (git left conflict markers in the file: "
        "resolve the conflict first)"
    )


def test_an_oversized_source_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(50 * 2**20)  # 50 MiB, sparse: nothing to parse is ever read
    result = CliRunner().invoke(cli, ["check", str(big)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{big}: is 50.0 MiB; deckforge reads sources of up to 32 MiB "
        "(split the deck into several files)\n"
    )


def test_a_prompt_reads_back_as_written() -> None:
    source = deckforge.Source(
        deck=deckforge.Deck(name="D"),
        cards=[deckforge.Card(title="t", bullets=["b"], prompt="the <GMD> alliance")],
    )
    assert deckforge.loads(deckforge.dumps(source)) == source
