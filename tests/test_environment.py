"""Odd environments and inputs: a clear answer, never a traceback.

The command runs in a process of its own where the environment is the point (locale, output
encoding, a full device, colours); the rest run in this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import deckforge
from deckforge.cli import cli

from .conftest import SEED

DECK = '[deck]\nname = "{name}"\n\n[[cards]]\ntitle = "t"\nbullets = ["treaty of berlin 1926"]\n'


def deckforge_process(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    colours = ("FORCE_COLOR", "NO_COLOR")  # only as the test says
    environ = {k: v for k, v in os.environ.items() if k not in colours} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "deckforge", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )


def test_a_full_output_device_is_a_message_not_a_traceback(seed_copy: Path) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "deckforge", "build", str(seed_copy)],
            cwd=seed_copy.parent,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == "deckforge: cannot write the output: No space left on device\n"
    assert (seed_copy.parent / "dist" / "stalin-foreign-policy.apkg").is_file()  # built


def test_an_ascii_locale_gets_a_clear_answer_for_a_cyrillic_deck(tmp_path: Path) -> None:
    (tmp_path / "cards.toml").write_text(DECK.format(name="Сталин"), encoding="utf-8")
    result = deckforge_process(
        ["build"], tmp_path, {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    )
    assert (result.returncode, "Traceback" in result.stderr) == (1, False)
    assert "use a UTF-8 locale (LC_ALL=C.UTF-8)" in result.stderr
    assert not (tmp_path / "cards.lock").exists()  # nothing written


def test_an_output_encoding_without_the_characters_escapes_them(tmp_path: Path) -> None:
    (tmp_path / "cards.toml").write_text(DECK.format(name="Сталин"), encoding="utf-8")
    result = deckforge_process(["build"], tmp_path, {"PYTHONIOENCODING": "latin-1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dist/\\u0441\\u0442\\u0430\\u043b\\u0438\\u043d.apkg: 2 notes")


def test_no_color_and_force_color_are_honoured(seed_copy: Path) -> None:
    args = ["preview", str(seed_copy)]
    plain = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": "1"})
    assert plain.exit_code == 0
    assert "\x1b[" not in plain.stdout
    forced = deckforge_process(args, seed_copy.parent, {"FORCE_COLOR": "1"})  # not a terminal
    assert "\x1b[36m\x1b[1m[1929]\x1b[0m" in forced.stdout


def test_a_symlinked_build_lock_is_refused_and_never_followed(tmp_path: Path) -> None:
    source = tmp_path / "cards.toml"
    source.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "dist").mkdir()
    outside = tmp_path / "outside" / "lock"
    (tmp_path / "dist" / ".deckforge.lock").symlink_to(outside)  # dangling
    with pytest.raises(deckforge.PackageError, match="is a symbolic link"):
        deckforge.build(source, tmp_path / "dist")
    assert not outside.parent.exists()  # nothing made where it points
    assert not (tmp_path / "cards.lock").exists()


def test_files_get_the_permissions_the_umask_allows(tmp_path: Path) -> None:
    source = tmp_path / "cards.toml"
    source.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    old = os.umask(0o077)
    try:
        deckforge.build(source, tmp_path / "dist")
    finally:
        os.umask(old)
    written = [tmp_path / "cards.lock", tmp_path / "dist" / "stalin-foreign-policy.apkg"]
    assert [oct(p.stat().st_mode & 0o777) for p in written] == ["0o600", "0o600"]


def test_a_missing_source_suggests_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["build"])
    assert result.exit_code == 1
    assert result.stderr == (
        "cards.toml: cannot read file: No such file or directory (start a deck with "
        "`deckforge init`, or `deckforge import outline NOTES`)\n"
    )


def test_includes_that_include_repeat_or_are_the_file_itself(tmp_path: Path) -> None:
    (tmp_path / "_a.toml").write_text('include = ["_b.toml"]\n[cloze]\nglossary = ["x"]\n')
    (tmp_path / "_b.toml").write_text('[cloze]\nglosary = ["y"]\n')
    (tmp_path / "_c.toml").write_text(
        '[deck]\nname = "x"\n[[cards]]\ntitle = "t"\nbullets = ["b"]\n'
    )
    (tmp_path / "deck.toml").write_text(
        'include = ["_a.toml", "_b.toml", "_b.toml", "_c.toml", "deck.toml"]\n'
        + DECK.format(name="x")
    )
    with pytest.raises(deckforge.SourceError) as e:
        deckforge.load(tmp_path / "deck.toml")
    assert [str(p).removeprefix(f"{tmp_path}/") for p in e.value.problems] == [
        "_a.toml:1:1: an included file cannot include others: list them all in the deck's own "
        "include",
        "_b.toml:2:1: cloze: unknown key 'glosary' (did you mean 'glossary'?)",  # once
        "_c.toml:1:1: an included file holds [cloze] settings only, not 'deck'",
        "_c.toml:3:1: an included file holds [cloze] settings only, not 'cards'",
        "deck.toml:1:56: include[4]: a file cannot include itself",
    ]


def test_a_file_name_an_ascii_locale_cannot_decode_builds_as_in_utf8(tmp_path: Path) -> None:
    # the package's name is ASCII; the file's own name is not: it keys the same notes
    (tmp_path / "ок.toml").write_text(DECK.format(name="Stalin"), encoding="utf-8")
    c_locale = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    result = deckforge_process(["build", "ок.toml"], tmp_path, c_locale)
    assert result.returncode == 0, result.stderr
    assert deckforge_process(["build", "ок.toml"], tmp_path).stdout.endswith(
        "0 added, 0 updated, 2 unchanged, 0 removed\n"
    )
    verified = deckforge_process(["verify", "dist/stalin.apkg"], tmp_path, c_locale)
    assert verified.returncode == 0, verified.stderr


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:" + "9" * 5000,
        "http://127.0.0.1:abc",
        "http://[::1",
        "http://exa mple",
        "ftp://x",
    ],
)
def test_an_ankiconnect_address_that_is_no_url_is_refused(url: str, seed_copy: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", str(seed_copy), "--ankiconnect", url, "--dry-run"])
    assert result.exit_code in (1, 2)  # an address that is no URL; a scheme that is not http
    assert "URL" in result.stderr
    assert "Traceback" not in result.output
    if not url.startswith("ftp"):  # the library says so too
        with pytest.raises(deckforge.DeckforgeError, match="URL"):
            deckforge.sync([seed_copy], url if "://" in url else f"http://{url}", dry_run=True)


def test_json_stays_json_whatever_the_output_encoding(tmp_path: Path) -> None:
    (tmp_path / "cards.toml").write_text(DECK.format(name="Україна 🇺🇦 𝔘"), encoding="utf-8")
    result = deckforge_process(["preview", "--json"], tmp_path, {"PYTHONIOENCODING": "latin-1"})
    assert result.returncode == 0, result.stderr
    import json

    notes = json.loads(result.stdout)
    assert notes[0]["fields"]["Context"] == "Україна 🇺🇦 𝔘"


def test_a_dumb_terminal_gets_no_colours(seed_copy: Path) -> None:
    result = CliRunner().invoke(cli, ["preview", str(seed_copy)], color=True, env={"TERM": "dumb"})
    assert "\x1b[" not in result.stdout


def test_a_huge_card_count_in_an_outline_is_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("deck\nCards (" + "9" * 5000 + ")\n• t\n  • b\n")
    with pytest.raises(deckforge.SourceError, match="cannot place"):
        deckforge.import_outline(tmp_path / "notes.txt", None)


def test_a_deck_description_shows_as_typed(tmp_path: Path, collection: object) -> None:
    from .conftest import import_package

    source = deckforge.loads(
        '[deck]\nname = "D"\ndescription = "<b>x</b> [sound:d.mp3] & more"\n'
        '[[cards]]\ntitle = "t"\nbullets = ["b"]\n'
    )
    info = deckforge.export(source.deck, deckforge.transform(source), tmp_path / "d.apkg")
    import_package(collection, info.path)
    deck = collection.decks.by_name("D")  # type: ignore[attr-defined]
    assert deck["desc"] == "&lt;b&gt;x&lt;/b&gt; &#91;sound:d.mp3] &amp; more"
