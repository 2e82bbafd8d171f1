"""The public Python API: small, explicit, and enough to script a deck in a few lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import deckforge

from .conftest import import_package


def test_public_names_are_exactly_all() -> None:
    public = {
        name
        for name in dir(deckforge)
        if not name.startswith("_") and not isinstance(getattr(deckforge, name), ModuleType)
    }
    assert public == set(deckforge.__all__) - {"__version__"}
    assert all(getattr(deckforge, name) is not None for name in deckforge.__all__)
    assert set(deckforge._EXPORTS) == set(deckforge.__all__) - {"__version__"}


def test_the_command_line_starts_without_the_heavy_modules() -> None:
    code = (
        "import sys, deckforge.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'genanki', 'tree_sitter', 'anki', 'tomlkit')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


def test_check_validates_without_building_anything(tmp_path: Path) -> None:
    # check is the quick one: nothing of the cloze engine, the notes or the packaging
    (tmp_path / "cards.toml").write_text(
        '[deck]\nname = "D"\n[[cards]]\ntitle = "a"\nbullets = ["signed in 1926"]\n'
        '[[cards]]\ntitle = "b"\nbullets = ["treaty of berlin", "1929 to 1932"]\n',
        encoding="utf-8",
    )
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print(sorted(m for m in sys.modules if m in "
        "('deckforge.cloze', 'deckforge.notes', 'deckforge.identity', 'deckforge.package', "
        "'genanki', 'tree_sitter', 'anki', 'tomlkit'))))\n"
        "sys.argv = ['deckforge', 'check', 'cards.toml']\n"
        "from deckforge.cli import main\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert (out.returncode, out.stdout) == (0, "cards.toml: ok, 2 cards, 3 bullets\n[]\n")


def test_script_a_deck_in_code(tmp_path: Path, collection: Any) -> None:
    source = deckforge.Source(
        deck=deckforge.Deck(name="Chemistry::Atoms", tags=["science"]),
        cards=[
            deckforge.Card(title="Dalton", bullets=["atomic theory published in 1808"]),
            deckforge.Card(title="Rutherford", bullets=["gold foil experiment, 1909 to 1911"]),
        ],
    )
    notes = deckforge.transform(source)
    info = deckforge.export(source.deck, notes, tmp_path / "atoms.apkg")
    assert (info.notes, info.cards) == (4, 4)
    log = import_package(collection, info.path)
    assert len(log.new) == 4
    assert "Chemistry::Atoms" in [d.name for d in collection.decks.all_names_and_ids()]
