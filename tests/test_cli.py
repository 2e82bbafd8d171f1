"""The deckforge command, driven as a user would, against real files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import deckforge
from deckforge.cli import cli

from .conftest import DATA, ROOT, SEED, package_entries


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    shutil.copy(SEED, tmp_path / "cards.toml")
    return CliRunner()


def test_build_defaults_to_cards_toml_into_dist(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["build"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "dist/stalin-foreign-policy.apkg: 64 notes (26 question/answer, 38 cloze), 77 cards; "
        "64 added, 0 updated, 0 unchanged, 0 removed\n"
    )
    assert package_entries(tmp_path / "dist" / "stalin-foreign-policy.apkg")


def test_build_several_sources_into_a_folder(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copy(DATA / "valid" / "minimal.toml", tmp_path)
    result = runner.invoke(cli, ["build", "cards.toml", "minimal.toml", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".deckforge.lock",
        "minimal.apkg",
        "stalin-foreign-policy.apkg",
    ]


def test_check_validates_without_writing(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["check"])
    assert (result.exit_code, result.stdout) == (0, "cards.toml: ok, 26 cards, 94 bullets\n")
    assert not (tmp_path / "dist").exists()


def test_invalid_source_exits_1_with_every_problem(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copy(DATA / "invalid" / "unknown-key.toml", tmp_path)
    shutil.copy(DATA / "invalid" / "empty-bullet.toml", tmp_path)
    result = runner.invoke(cli, ["build", "unknown-key.toml", "cards.toml", "empty-bullet.toml"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        'empty-bullet.toml:6:39: cards[0] ("germany"): bullets[1]: must not be empty\n'
        "unknown-key.toml:4:1: cards[0]: missing required key 'title'\n"
        "unknown-key.toml:5:1: cards[0]: unknown key 'titel' (did you mean 'title'?)\n"
    )
    assert not (tmp_path / "dist").exists()  # nothing is built while any source is invalid


def test_missing_source_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["check", "nope.toml"])
    assert result.exit_code == 1
    assert result.stderr == "nope.toml: cannot read file: No such file or directory\n"


def test_two_sources_for_one_package_are_refused(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "copy.toml")
    result = runner.invoke(cli, ["build", "cards.toml", "copy.toml"])
    assert result.exit_code == 1
    assert "would overwrite dist/stalin-foreign-policy.apkg" in result.stderr
    assert not (tmp_path / "dist").exists()


def test_usage_errors_exit_2(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["build", "--bogus"]).exit_code == 2
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.stdout == f"deckforge, version {deckforge.__version__}\n"


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (SEED.parent / "README.md").read_text(encoding="utf-8")

    def walk(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name, command in group.commands.items():
            yield f"{prefix} {name}", command
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix} {name}")

    commands = dict(walk(cli, "deckforge"))
    assert len(commands) >= 9
    for name, command in commands.items():
        assert command.help, name
        assert name in readme, name


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deckforge", "check", str(DATA / "invalid" / "missing-deck.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.endswith("missing-deck.toml:1:1: missing required key 'deck'\n")
    assert "Traceback" not in result.stderr


PREVIEW_DECK = """\
[deck]
name = "Preview"

[cloze]
glossary = ["munich conference"]

[[cards]]
title = "germany"
bullets = ["1926 = treaty of berlin", "no dates here", "munich conference 1938"]
"""


def test_preview_shows_deletions_in_brackets(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(PREVIEW_DECK, encoding="utf-8")
    result = runner.invoke(cli, ["preview", "p.toml"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "germany  (3 bullets)\n  [1926] = [treaty of berlin]\n  [munich conference] [1938]\n"
    )
    assert not (tmp_path / "p.lock").exists()  # preview writes nothing


def test_preview_colours_deletions_on_a_terminal(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(PREVIEW_DECK, encoding="utf-8")
    result = runner.invoke(cli, ["preview", "p.toml"], color=True)
    assert "\x1b[36m\x1b[1m[1926]\x1b[0m" in result.stdout  # dates cyan
    assert "\x1b[35m\x1b[1m[treaty of berlin]\x1b[0m" in result.stdout  # treaties magenta


def test_preview_json_for_scripts(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(PREVIEW_DECK, encoding="utf-8")
    result = runner.invoke(cli, ["preview", "p.toml", "--json"])
    notes = json.loads(result.stdout)
    assert [(n["kind"], n["title"]) for n in notes] == [("qa", "germany")] + [
        ("cloze", "germany")
    ] * 2
    assert notes[1]["deletions"] == [
        {"number": 1, "kind": "date", "text": "1926", "start": 0},
        {"number": 2, "kind": "treaty", "text": "treaty of berlin", "start": 7},
    ]
    assert notes[1]["fields"]["Text"] == "{{c1::1926}} = {{c2::treaty of berlin}}"
    assert "deckforge::cloze::treaty" in notes[1]["tags"]


def test_every_guarantee_names_tests_that_exist() -> None:
    """Each promise of the README's Guarantees table names the tests that hold it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`tests/" in line]
    assert len(rows) >= 30
    for row in rows:
        proof = row.rsplit(" | ", 1)[1]
        module = None
        for name in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?", proof):
            module = ROOT / name[0] if name[0] else module
            assert module is not None, row
            assert module.is_file(), row
            if name[1]:
                assert f"def {name[1]}(" in module.read_text(encoding="utf-8"), (name, row)
