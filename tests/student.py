"""A student at work: a deck folder under git, a real Anki collection, builds, imports, reviews.

Tests of regeneration drive this the way a student works, then ask Anki what it holds.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import deckforge
from deckforge.cloze import DELETION, unescape
from deckforge.notes import read_fields

from .conftest import import_package

# a small deck: two dates in one card, two treaties in another, a typo in a third
DECK = """\
[deck]
name = "French revolution"

[[cards]]
title = "causes"
bullets = [
    "bad harvests 1788 drove bread prices up",
    "the estates-general met in may 1789",
]

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


class Student:
    """Keeps ``cards.toml`` in *folder*, builds it into ``folder/dist``, imports into *col*."""

    def __init__(self, folder: Path, col: Any, source: str, name: str = "cards.toml") -> None:
        self.folder, self.col = folder, col
        self.source = folder / name
        self.source.write_text(source, encoding="utf-8")
        self.studied: dict[int, str] = {}  # card id -> the fact it asks for
        self.history: dict[int, list[int]] = {}  # card id -> its review log ids

    # -- the deck ---------------------------------------------------------------------------

    def edit(self, old: str, new: str, count: int = -1) -> None:
        """Find and replace in ``cards.toml``."""
        text = self.source.read_text(encoding="utf-8")
        assert old in text, old
        self.source.write_text(text.replace(old, new, count), encoding="utf-8")

    def build(self) -> deckforge.BuildResult:
        return deckforge.build(self.source, self.folder / "dist")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "student",
            "GIT_AUTHOR_EMAIL": "student@example.org",
            "GIT_COMMITTER_NAME": "student",
            "GIT_COMMITTER_EMAIL": "student@example.org",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        return subprocess.run(
            ["git", *args], cwd=self.folder, env=env, capture_output=True, text=True, check=check
        )

    def commit(self, message: str) -> None:
        self.git("add", "cards.toml", "cards.lock")
        self.git("commit", "-q", "-m", message)

    # -- Anki -------------------------------------------------------------------------------

    def import_(self, result: deckforge.BuildResult | None = None) -> Any:
        """Import the package (the last one built by default), as File > Import does."""
        package = result.package.path if result else self.folder / "dist"
        if package.is_dir():
            (package,) = package.glob("*.apkg")
        return import_package(self.col, package)

    def notes(self) -> dict[str, Any]:
        """Every note in the collection, by GUID."""
        return {self.col.get_note(n).guid: self.col.get_note(n) for n in self.col.find_notes("")}

    def text(self, guid: str) -> str:
        """What the note with *guid* teaches, in plain text."""
        note = self.notes()[guid]
        return read_fields("cloze" if "Text" in note else "qa", list(note.fields))[0]

    def study(self, search: str) -> list[int]:
        """Review, once and well, every card of the notes *search* finds; returns their ids."""
        ids = []
        for nid in self.col.find_notes(search):
            for card in self.col.get_note(nid).cards():
                card.start_timer()
                self.col.sched.answerCard(card, 3)
                ids.append(card.id)
                self.studied[card.id] = self.asks(card.id)
                self.history[card.id] = self.reviews(card.id)
        assert ids, search
        return ids

    def reviews(self, card_id: int) -> list[int]:
        return list(self.col.db.list("select id from revlog where cid = ?", card_id))

    def asks(self, card_id: int) -> str:
        """The fact a cloze card asks for: its deletion's text. (A question/answer card asks
        for its note's facts, whatever their words: it is its note's one card.)"""
        card = self.col.get_card(card_id)
        note = card.note()
        if "Text" not in note:
            return f"the facts of note {note.guid}"
        hidden = [
            unescape(a) for n, a in DELETION.findall(note["Text"]) if int(n) == card.ord + 1
        ]  # as text: formatting (Markdown) aside
        return " / ".join(hidden)  # empty: the card asks for nothing

    def check(self, result: deckforge.BuildResult | deckforge.SyncResult, others: int = 0) -> None:
        """What a student must see after importing *result*: the build's notes and no other
        (but *others* Anki holds: removed ones, another deck's), each with the build's text;
        every reviewed card still there, with its history, asking for the fact it was learned
        for."""
        notes = self.notes()
        if isinstance(result, deckforge.SyncResult):
            written = [n for p in result.plans for n in p.changes.notes]
        else:
            written = list(result.notes)
        assert len(notes) == len(written) + others  # no duplicates
        for note in written:
            assert note.guid in notes
            assert list(notes[note.guid].fields) == list(note.fields)  # the text arrived
        for card_id, fact in self.studied.items():
            assert self.reviews(card_id) == self.history[card_id]
            assert self.col.get_card(card_id).reps >= 1
            assert self.asks(card_id) == fact

    def no_op(self, out: str = "dist") -> None:
        """An unchanged rebuild imports as a no-op."""
        again = deckforge.build(self.source, self.folder / out)
        assert again.changes.summary().startswith("0 added, 0 updated")
        log = self.import_(again)
        assert (len(log.new), len(log.updated)) == (0, 0)


class Syncing(Student):
    """A student who sends the deck straight into Anki with ``deckforge sync``: into the
    collection file at *path* (closing it, as Anki must be closed, for the time of the sync),
    or through *server*, an AnkiConnect server on that collection."""

    def __init__(self, folder: Path, path: Path, source: str, server: Any = None) -> None:
        from anki.collection import Collection

        super().__init__(folder, server.col if server else Collection(str(path)), source)
        self.path, self.server = path, server

    @property
    def into(self) -> str:
        return str(self.server.url if self.server else self.path)

    @contextmanager
    def closed(self) -> Iterator[None]:
        """Anki closed for the time of the block (for the collection file; a server keeps it
        open, as the running Anki does)."""
        from anki.collection import Collection

        if self.server is not None:
            yield
            return
        self.col.close()
        try:
            yield
        finally:
            self.col = Collection(str(self.path))

    def sync(
        self, *, dry_run: bool = False, backup: bool = False, **options: bool
    ) -> deckforge.SyncResult:
        """``deckforge sync`` with these options (delete, force, allow_full_sync); without a
        backup unless asked (Anki names backups by the second: one a second)."""
        with self.closed():
            return deckforge.sync(
                [self.source], self.into, deckforge.SyncOptions(**options, backup=backup),
                dry_run=dry_run, out_dir=self.folder / "dist",
            )  # fmt: skip

    def no_op_sync(self) -> None:
        """An unchanged source syncs as a no-op: no note's ``mod`` moves, no backup is made, the
        lock file and the package are left alone."""
        mods = dict(self.col.db.all("select id, mod from notes"))
        written = [self.folder / "cards.lock", *(self.folder / "dist").glob("*.apkg")]
        times = [path.stat().st_mtime_ns for path in written]
        result = self.sync()
        assert [(len(p.add), len(p.update), len(p.move)) for p in result.plans] == [(0, 0, 0)]
        assert result.backup is None
        assert dict(self.col.db.all("select id, mod from notes")) == mods
        assert [path.stat().st_mtime_ns for path in written] == times  # nothing written
