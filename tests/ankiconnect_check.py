"""A check of ``deckforge sync`` against a running Anki with the AnkiConnect add-on, that
maintainers run by hand (the add-on cannot be installed in CI)::

    python tests/ankiconnect_check.py [URL]     # default http://127.0.0.1:8765

It works in a deck of its own ("deckforge check <time>"), looks at Anki only through
AnkiConnect, and deletes the deck at the end. The test suite runs the same check against its
AnkiConnect test server (``tests/test_sync.py``), so that the two stay one check.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import deckforge
from deckforge.backends import AnkiConnect

SOURCE = """\
[deck]
name = "{deck}"

[[cards]]
title = "peace"
bullets = [
    "treaty of amiens 1802 brought a pause in the wars",
    "rapallo treaty in 1922 settled the border",
]

[[cards]]
title = "popular front polcy"
bullets = ["popular front polcy adopted in 1935"]
"""


def check(url: str, folder: Path) -> list[str]:
    """Run the check; what it saw, a line a step. Raises AssertionError at the first step
    where Anki does not hold what a student would expect."""
    anki = AnkiConnect(url, folder)
    deck = f"deckforge check {time.strftime('%Y%m%d%H%M%S')}"
    source = folder / "cards.toml"
    source.write_text(SOURCE.format(deck=deck), encoding="utf-8")
    said: list[str] = []

    def sync(**options: bool) -> deckforge.SyncResult:
        result = deckforge.sync([source], url, deckforge.SyncOptions(**options),
                                out_dir=folder / "dist")  # fmt: skip
        said.extend(p.summary() for p in result.plans)
        return result

    def notes(search: str = "") -> list[Any]:
        return list(
            anki.call("notesInfo", notes=anki.call("findNotes", query=f'"deck:{deck}" {search}'))
        )

    def edit(old: str, new: str) -> None:
        text = source.read_text(encoding="utf-8")
        source.write_text(text.replace(old, new), encoding="utf-8")

    try:
        sync()
        assert len(notes()) == 5, notes()
        (amiens,) = notes('"Text:*amiens*"')
        text = amiens["fields"]["Text"]["value"]
        anki.call(
            "updateNoteFields",
            note={
                "id": amiens["noteId"],
                "fields": {"Text": text.replace("a pause", "a short pause")},
            },
        )
        (rapallo,) = notes('"Text:*rapallo*"')
        anki.call("addTags", notes=[rapallo["noteId"]], tags="marked")
        edit("a pause in the wars", "a pause in the war")
        edit("in 1922 settled", "in 1922 fixed")
        edit("polcy", "policy")
        result = sync()
        assert len(result.conflicts) == 1, result.conflicts
        assert "a short pause" in notes('"Text:*amiens*"')[0]["fields"]["Text"]["value"]
        (rapallo,) = notes('"Text:*rapallo*"')
        assert "fixed" in rapallo["fields"]["Text"]["value"]
        assert "marked" in rapallo["tags"], rapallo["tags"]
        sync(force=True)
        assert "a pause in the war" in notes('"Text:*amiens*"')[0]["fields"]["Text"]["value"]
        mods = {n["noteId"]: n["mod"] for n in notes()}
        sync()
        assert {n["noteId"]: n["mod"] for n in notes()} == mods, "an unchanged sync moved a mod"
        edit(f'name = "{deck}"', f'name = "{deck}::renamed"')
        deck = f"{deck}::renamed"
        sync()
        cards = anki.call("findCards", query=f'"deck:{deck}"')
        assert {c["deckName"] for c in anki.call("cardsInfo", cards=cards)} == {deck}
        head, peace, _popular = source.read_text(encoding="utf-8").split("[[cards]]")
        source.write_text("[[cards]]".join([head, peace]), encoding="utf-8")
        result = sync(delete=True)
        assert len(result.plans[0].remove) == 2
        assert len(notes()) == 3
        said.append("ok")
        return said
    finally:
        anki.call("deleteDecks", decks=[deck.split("::")[0]], cardsToo=True)


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else deckforge.ANKICONNECT
    with tempfile.TemporaryDirectory(prefix="deckforge-check-") as folder:
        print("\n".join(check(url, Path(folder))))


if __name__ == "__main__":
    main()
