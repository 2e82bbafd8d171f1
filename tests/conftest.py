from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "cards.toml"

# Golden files are refreshed deliberately: DECKFORGE_UPDATE_GOLDEN=1 pytest
UPDATE_GOLDEN = os.environ.get("DECKFORGE_UPDATE_GOLDEN") == "1"


# Pieces of text that break HTML, cloze syntax or naive recognisers, mixed into generated text.
HOSTILE = [
    "{{", "}}", "::", "{{c1::x}}", "}}}", "{", "}", ":", "[...]", "<script>alert(1)</script>",
    "<b>bold</b>", "<br>", "&amp;", "&", "&#123;", "\\", '"', "'", "’", "\u200f", "\u202e",
    "🇺🇦", "👩‍🔬", "\n", "\t", " ", "1926", " treaty of berlin ", "sep 1934", "c. 1800", " ToB ",
    "{{x}}", "{{ 1926 }}", "\\{{", "\\}}", "[sound:x.mp3]", "[latex]\\alpha[/latex]", "\\(x\\)",
    "\\[", "[$]", "[anki:tts lang=en_US]t[/anki:tts]",
]  # fmt: skip


def hostile_text(min_pieces: int = 0, max_pieces: int = 8) -> st.SearchStrategy[str]:
    """Text made of ordinary characters and :data:`HOSTILE` pieces."""
    plain = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=10)
    pieces = st.one_of(st.sampled_from(HOSTILE), plain)
    return st.lists(pieces, min_size=min_pieces, max_size=max_pieces).map("".join)


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A copy of the repository's cards.toml: builds write their lock file beside it."""
    path = tmp_path / "cards.toml"
    shutil.copy(SEED, path)
    return path


@pytest.fixture
def collection(tmp_path: Path) -> Iterator[Any]:
    """A throwaway Anki collection, opened with the official anki package."""
    from anki.collection import Collection

    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        yield col
    finally:
        col.close()


def import_package(col: Any, path: Path) -> Any:
    """Import *path* into *col* the way Anki's File > Import does; returns the import log."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    request = ImportAnkiPackageRequest(
        package_path=str(path), options=ImportAnkiPackageOptions(with_scheduling=False)
    )
    return col.import_anki_package(request).log


def dump_source(source: Any) -> str:
    """*source* (a deckforge.Source) as cards.toml text; JSON strings are valid TOML strings."""
    deck = source.deck
    lines = ["[deck]", f"name = {json.dumps(deck.name, ensure_ascii=False)}"]
    if deck.tags:
        lines.append(f"tags = {json.dumps(list(deck.tags))}")
    for card in source.cards:
        lines += ["", "[[cards]]"]
        if card.id:
            lines.append(f"id = {json.dumps(card.id, ensure_ascii=False)}")
        lines.append(f"title = {json.dumps(card.title, ensure_ascii=False)}")
        lines.append("bullets = [")
        lines += [f"    {json.dumps(b, ensure_ascii=False)}," for b in card.bullets]
        lines.append("]")
    return "\n".join(lines) + "\n"


def package_entries(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return zf.namelist()
