"""Scripting many decks: folders, bundles, shared settings, images, schema, init and verify."""

from __future__ import annotations

import json
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

import deckforge
from deckforge.cli import cli
from deckforge.schema import json_schema

from .conftest import SEED, import_package, package_entries

# a 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

HISTORY = """\
include = ["_shared.toml"]

[deck]
name = "Revision::History"

[[cards]]
title = "poland"
bullets = ["sep 1939: G invaded P", "munich conference 1938 = G, F, B and Italy"]
images = ["maps/poland-1939.png"]
"""
SCIENCE = """\
[deck]
name = "Revision::Science"

[cloze]
kinds = ["date"]

[[cards]]
title = "atoms"
bullets = ["dalton's atomic theory, 1808", "the treaty of nothing at all"]
"""
SHARED = """\
[cloze]
glossary = ["munich conference"]
"""


@pytest.fixture
def decks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "decks"
    (folder / "maps").mkdir(parents=True)
    (folder / "maps" / "poland-1939.png").write_bytes(PNG)
    (folder / "history.toml").write_text(HISTORY, encoding="utf-8")
    (folder / "science.toml").write_text(SCIENCE, encoding="utf-8")
    (folder / "_shared.toml").write_text(SHARED, encoding="utf-8")
    return folder


def test_a_folder_builds_one_package_per_deck(decks: Path) -> None:
    result = CliRunner().invoke(cli, ["build", "decks"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in Path("dist").iterdir()) == [
        ".deckforge.lock",
        "revision-history.apkg",
        "revision-science.apkg",
    ]
    # each deck's lock file, and the folder's build lock
    assert sorted(p.name for p in decks.glob("*.lock")) == [
        ".deckforge.lock",
        "history.lock",
        "science.lock",
    ]


def test_bundle_with_an_image_imports_into_anki(decks: Path, collection: Any) -> None:
    result = CliRunner().invoke(cli, ["build", "decks", "--bundle", "Revision", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # each source with its own notes and cards, in the one package
    assert [(r["source"], r["package"], r["notes"], r["cards"]) for r in report] == [
        ("decks/history.toml", "dist/revision.apkg", 3, 4),
        ("decks/science.toml", "dist/revision.apkg", 2, 2),
    ]
    package = Path("dist/revision.apkg")
    assert package_entries(package) == ["collection.anki2", "media", "0"]

    log = import_package(collection, package)
    assert len(log.new) == 5
    names = {d.name for d in collection.decks.all_names_and_ids(skip_empty_default=True)}
    assert {"Revision::History", "Revision::Science"} <= names
    (media,) = Path(collection.media.dir()).iterdir()
    assert media.read_bytes() == PNG
    (qa,) = collection.find_notes('"deck:Revision::History" "note:deckforge Q/A"')
    note = collection.get_note(qa)
    assert note["Images"] == f'<img src="{media.name}">'
    assert f'<img src="{media.name}">' in note.cards()[0].answer()
    assert not collection.media.check().missing

    # the shared glossary applies to history; science clozes dates only
    texts = [
        collection.get_note(n)["Text"] for n in collection.find_notes('"note:deckforge Cloze"')
    ]
    assert "{{c1::munich conference}} {{c2::1938}} = G, F, B and Italy" in texts
    assert "dalton's atomic theory, {{c1::1808}}" in texts
    assert not any("treaty of nothing" in t for t in texts)


def test_a_bundle_reports_each_source_with_its_own_notes(decks: Path) -> None:
    result = CliRunner().invoke(cli, ["build", "decks", "--bundle", "Revision"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "dist/revision.apkg: 3 notes (1 question/answer, 2 cloze), 4 cards; "
        "3 added, 0 updated, 0 unchanged, 0 removed\n"
        "dist/revision.apkg: 2 notes (1 question/answer, 1 cloze), 2 cards; "
        "2 added, 0 updated, 0 unchanged, 0 removed\n"
    )


def test_diff_and_preview_take_a_folder_as_build_does(decks: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["build", "decks"]).exit_code == 0
    (decks / "science.toml").write_text(SCIENCE.replace("1808", "1803"), encoding="utf-8")
    diff = runner.invoke(cli, ["diff", "decks"])
    assert (diff.exit_code, diff.stdout) == (
        0,
        "decks/history.toml: 0 added, 0 updated, 3 unchanged, 0 removed\n"
        "decks/science.toml: 0 added, 2 updated, 0 unchanged, 0 removed\n"
        '  updated  "atoms" (question/answer)\n'
        "    - dalton's atomic theory, 1808\n"
        "    + dalton's atomic theory, 1803\n"
        '  updated  "atoms" (cloze)\n'
        "    - dalton's atomic theory, 1808\n"
        "    + dalton's atomic theory, 1803\n",
    )
    preview = runner.invoke(cli, ["preview", "decks"])
    assert (preview.exit_code, preview.stdout) == (
        0,
        "poland  (2 bullets)\n"
        "  [sep 1939]: G invaded P\n"
        "  [munich conference] [1938] = G, F, B and Italy\n"
        "atoms  (2 bullets)\n"
        "  dalton's atomic theory, [1803]\n",
    )


def test_counts_of_one_are_singular(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("cards.toml").write_text(
        '[deck]\nname = "One"\n[[cards]]\ntitle = "t"\nbullets = ["no date"]\n', "utf-8"
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["check"]).stdout == "cards.toml: ok, 1 card, 1 bullet\n"
    assert runner.invoke(cli, ["build"]).stdout == (
        "dist/one.apkg: 1 note (1 question/answer, 0 cloze), 1 card; "
        "1 added, 0 updated, 0 unchanged, 0 removed\n"
    )
    assert runner.invoke(cli, ["preview"]).stdout == "t  (1 bullet)\n"
    Path("cards.toml").write_text(
        '[deck]\nname = "One"\n[[cards]]\ntitle = "w"\nbullets = ["other words"]\n', "utf-8"
    )
    removed = runner.invoke(cli, ["diff"]).stdout
    assert "\n1 note is no longer in the source. Anki keeps it" in removed
    verified = runner.invoke(cli, ["verify", "dist/one.apkg"]).stdout
    assert verified == (
        "dist/one.apkg: 1 deck (One), 1 note, 1 card, 0 empty cards, 0 media files\n"
    )


def test_missing_or_escaping_images_are_located_errors(decks: Path) -> None:
    text = HISTORY.replace('"maps/poland-1939.png"', '"maps/nope.png", "../secret.png"')
    (decks / "history.toml").write_text(text, encoding="utf-8")
    (decks / "_shared.toml").write_text("[cloze]\nglosary = []\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "decks/history.toml"])
    assert result.exit_code == 1
    assert result.stderr == (
        "decks/_shared.toml:2:1: cloze: unknown key 'glosary' (did you mean 'glossary'?)\n"
        'decks/history.toml:9:11: cards[0] ("poland"): images[0]: '
        "no such file: 'maps/nope.png' (relative to decks)\n"
        'decks/history.toml:9:28: cards[0] ("poland"): images[1]: '
        "'../secret.png' is outside the folder of the source; keep files beside it\n"
    )


def test_missing_include_is_a_located_error(decks: Path) -> None:
    (decks / "_shared.toml").unlink()
    result = CliRunner().invoke(cli, ["check", "decks/history.toml"])
    assert result.stderr == (
        "decks/history.toml:1:12: include[0]: no such file: '_shared.toml' (relative to decks)\n"
    )


def test_own_options_win_over_included_ones(tmp_path: Path) -> None:
    (tmp_path / "shared.toml").write_text(
        '[cloze]\nkinds = ["date"]\nglossary = ["yalta"]\ncards = "single"\n', encoding="utf-8"
    )
    (tmp_path / "d.toml").write_text(
        'include = ["shared.toml"]\n[deck]\nname = "d"\n[cloze]\nkinds = ["treaty"]\n'
        'glossary = ["potsdam"]\n[[cards]]\ntitle = "t"\nbullets = ["b"]\n',
        encoding="utf-8",
    )
    options = deckforge.load(tmp_path / "d.toml").cloze
    assert (options.kinds, options.glossary, options.cards) == (
        ("treaty",),
        ("yalta", "potsdam"),
        "single",
    )


def test_json_schema_validates_the_repository_deck() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = tomllib.loads(SEED.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    data["cards"][0]["titel"] = data["cards"][0].pop("title")
    with pytest.raises(jsonschema.ValidationError, match="'titel' was unexpected"):
        jsonschema.validate(data, schema)


def test_schema_command_prints_the_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert json.loads(result.stdout) == json_schema()


def test_init_writes_a_deck_that_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "new"])
    assert result.stdout == "wrote new/cards.toml\nwrote new/cards.schema.json\n"
    text = Path("new/cards.toml").read_text(encoding="utf-8")
    assert text.startswith("#:schema ./cards.schema.json\n")
    jsonschema.validate(tomllib.loads(text), json.loads(Path("new/cards.schema.json").read_text()))
    assert runner.invoke(cli, ["build", "new/cards.toml"]).exit_code == 0
    again = runner.invoke(cli, ["init", "new"])
    assert (again.exit_code, again.stderr) == (
        1,
        "new/cards.toml already exists; init never replaces a file\n",
    )


def test_verify_reports_a_good_package(seed_copy: Path) -> None:
    package = deckforge.build(seed_copy, seed_copy.parent / "dist").package.path
    result = CliRunner().invoke(cli, ["verify", str(package)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{package}: 1 deck (Stalin foreign policy), 64 notes, 77 cards, 0 empty cards, "
        "0 media files\n"
    )


def test_verify_fails_on_a_broken_package(tmp_path: Path) -> None:
    bad = tmp_path / "bad.apkg"
    bad.write_bytes(b"not a zip")
    result = CliRunner().invoke(cli, ["verify", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}: Anki cannot import it:")


def test_verify_finds_missing_media(tmp_path: Path, decks: Path) -> None:
    CliRunner().invoke(cli, ["build", "decks/history.toml"])
    package = Path("dist/revision-history.apkg")
    with zipfile.ZipFile(package) as zf:
        collection = zf.read("collection.anki2")
    stripped = tmp_path / "stripped.apkg"
    with zipfile.ZipFile(stripped, "w") as zf:
        zf.writestr("collection.anki2", collection)
        zf.writestr("media", "{}")
    result = CliRunner().invoke(cli, ["verify", str(stripped)])
    assert result.exit_code == 1
    assert "notes refer to missing media: poland-1939-" in result.stderr


def test_quiet_prints_nothing(seed_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(seed_copy.parent)
    result = CliRunner().invoke(cli, ["build", "--quiet"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
