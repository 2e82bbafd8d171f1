"""The public Python API: small, explicit, and enough to script a deck in a few lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
import pytest

import deckforge

from .conftest import ROOT, import_package


def test_public_names_are_exactly_all() -> None:
    public = {
        name
        for name in dir(deckforge)
        if not name.startswith("_") and not isinstance(getattr(deckforge, name), ModuleType)
    }
    assert public == set(deckforge.__all__) - {"__version__"}
    assert all(getattr(deckforge, name) is not None for name in deckforge.__all__)
    assert set(deckforge._EXPORTS) == set(deckforge.__all__) - {"__version__"}


def loaded(*args: str, cwd: Path) -> tuple[int, str]:
    """Exit status and output of ``deckforge *args*``, which prints the slow modules it loaded."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.scripts.modules_loaded", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    return out.returncode, out.stdout


def test_the_command_line_starts_without_the_heavy_modules(tmp_path: Path) -> None:
    status, out = loaded("--version", cwd=tmp_path)
    assert (status, out) == (0, f"deckforge, version {deckforge.__version__}\n[]\n")


def test_check_validates_without_building_anything(tmp_path: Path) -> None:
    # check is the quick one: nothing of the cloze engine, the notes or the packaging
    (tmp_path / "cards.toml").write_text(
        '[deck]\nname = "D"\n[[cards]]\ntitle = "a"\nbullets = ["signed in 1926"]\n'
        '[[cards]]\ntitle = "b"\nbullets = ["treaty of berlin", "1929 to 1932"]\n',
        encoding="utf-8",
    )
    status, out = loaded("check", "cards.toml", cwd=tmp_path)
    assert (status, out) == (0, "cards.toml: ok, 2 cards, 3 bullets\n['pydantic']\n")


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


def test_what_a_script_catches(tmp_path: Path) -> None:
    # models built in code are validated as they are made, by Pydantic
    with pytest.raises(pydantic.ValidationError, match="at least 1 item") as excinfo:
        deckforge.Card(title="x", bullets=[])
    assert isinstance(excinfo.value, ValueError)
    # everything else is a DeckforgeError
    decks = tmp_path / "decks"
    decks.mkdir()
    for name in ("a", "b"):
        (decks / f"{name}.toml").write_text(
            '[deck]\nname = "Same"\n[[cards]]\ntitle = "t"\nbullets = ["b"]\n', encoding="utf-8"
        )
    with pytest.raises(deckforge.DeckforgeError, match=r"b\.toml: deck 'Same' would overwrite"):
        deckforge.build_all([decks], tmp_path / "dist")
    (decks / "b.toml").write_text(
        '[deck]\nname = "Other"\n[[cards]]\ntitle = "t"\nbullets = ["b"]\n', encoding="utf-8"
    )
    with pytest.raises(deckforge.DeckforgeError, match="names 2 decks"):
        deckforge.diff(decks)
    assert not (tmp_path / "dist").exists()
