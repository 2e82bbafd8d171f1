"""The two ways into Anki that ``deckforge sync`` has, and what it reads of a collection: the
collection file, opened with Anki's own ``anki`` package while Anki is closed, and the running
Anki, through the AnkiConnect add-on's HTTP protocol.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import DeckforgeError
from .notes import CLOZE_FIELDS, QA_FIELDS, NoteKind
from .package import KINDS, reading
from .pipeline import package_path

MODELS: dict[int, tuple[NoteKind, tuple[str, ...]]] = {  # kind and fields, by note type id
    model: (kind, QA_FIELDS if kind == "qa" else CLOZE_FIELDS) for model, kind in KINDS.items()
}
ANKICONNECT = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class AnkiNote:
    """A note as the collection holds it: its id, note type, ``mod``, fields and tags, and the
    id, ordinal and deck of each of its cards (a card in a filtered deck: its home deck)."""

    nid: int
    guid: str
    model: int
    mod: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    cards: tuple[tuple[int, int, str], ...]

    @property
    def kind(self) -> NoteKind | None:
        """The kind of deckforge note it is; None for a note of another note type."""
        return MODELS[self.model][0] if self.model in MODELS else None


class Anki(Protocol):
    """What a sync needs of a collection."""

    def notes(
        self, guids: Collection[str], decks: Collection[str], expected: Collection[str]
    ) -> dict[str, AnkiNote]:
        """The notes with these GUIDs. A backend that cannot look notes up by GUID looks in
        *decks*, and further when a note of *expected* is not there."""

    def read(self, note_ids: Collection[int]) -> dict[int, tuple[int, tuple[str, ...]]]:
        """The ``mod`` and fields of the notes with these ids, by id."""

    def note_types(self) -> dict[int, tuple[str, ...]]:
        """The field names of each of deckforge's note types the collection has, by id."""

    def set_fields(self, model: int, names: Sequence[str]) -> None:
        """Rename, add or remove fields of the note type *model* until they are *names*."""

    def styles(self) -> dict[int, tuple[str, int]]:
        """The CSS of each of deckforge's note types the collection has, and its ``mod``."""

    def set_style(self, css: str) -> None:
        """Give deckforge's note types in the collection the CSS *css*."""

    def backup(self, folder: Path) -> str | None:
        """Back the collection up (into *folder*, for a backend that keeps no backups of its
        own); say where (None: there was nothing to back up)."""

    def import_package(self, path: Path) -> None: ...

    def move(self, card_ids: Sequence[int], deck: str) -> None: ...

    def delete_notes(self, note_ids: Sequence[int]) -> None: ...

    def delete_cards(self, card_ids: Sequence[int]) -> bool:
        """Delete cards (False: this backend cannot; they are reported instead)."""

    def add_tag(self, note_ids: Sequence[int], tag: str) -> None: ...


@contextmanager
def opened(into: str | os.PathLike[str]) -> Iterator[Anki]:
    if isinstance(into, str) and into.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory(prefix="deckforge-ankiconnect-") as folder:
            yield AnkiConnect(into, Path(folder))
        return
    direct = Direct(Path(into))
    try:
        yield direct
    finally:
        direct.close()


def check_url(url: str) -> None:
    """Refuse an AnkiConnect address that is no http:// URL of a host (and, if any, a port)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is no number raises
    except ValueError:
        raise DeckforgeError(f"{url}: not a URL with a host and a port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise DeckforgeError(f"{url}: not an http:// URL of a host")


# -- the collection file --------------------------------------------------------------------


class Direct:
    """A collection file, opened with Anki's own ``anki`` package (Anki being closed)."""

    def __init__(self, path: Path) -> None:
        try:
            from anki.collection import Collection as AnkiCollection
            from anki.errors import DBError
        except ImportError:
            raise DeckforgeError(
                "syncing into a collection file needs Anki's own Python package: "
                "pip install 'anki>=25.2' (or use --ankiconnect)"
            ) from None
        if not path.is_file():
            raise DeckforgeError(f"{path}: no such collection")
        wal = path.with_name(f"{path.name}-wal")  # (its schema may be there, not yet moved)
        if not _collection_file(path) and not wal.is_file():  # Anki would make any file one
            raise DeckforgeError(
                f"{path}: not an Anki collection (the collection.anki2 file in a profile's "
                "folder of Anki's)"
            )
        try:
            # an exclusive lock: fails at once while Anki (or anything else) has it open
            self.col = AnkiCollection(os.fspath(path))
        except DBError:
            raise DeckforgeError(
                f"{path} is open in Anki (or another program): close Anki, or use --ankiconnect"
            ) from None
        except Exception as e:  # the backend's own errors: not a collection, say
            raise DeckforgeError(f"{path}: cannot open it as an Anki collection: {e}") from None
        self.path = path
        assert self.col.db is not None
        self.db = self.col.db

    def close(self) -> None:
        self.col.close()

    def notes(
        self, guids: Collection[str], decks: Collection[str], expected: Collection[str]
    ) -> dict[str, AnkiNote]:
        # no search finds a GUID ("guid:" is read as a field): the notes table is read instead
        names = {d.id: d.name for d in self.col.decks.all_names_and_ids()}
        rows = self._all_in("select id, guid, mid, mod, flds, tags from notes where guid in", guids)
        cards: dict[int, list[tuple[int, int, str]]] = {}
        for cid, nid, did, ord_ in self._all_in(
            "select id, nid, case when odid then odid else did end, ord from cards where nid in",
            [row[0] for row in rows],
        ):
            cards.setdefault(nid, []).append((cid, ord_, names.get(did, "")))
        return {row[1]: _note(row, cards.get(row[0], [])) for row in rows}

    def read(self, note_ids: Collection[int]) -> dict[int, tuple[int, tuple[str, ...]]]:
        rows = self._all_in("select id, mod, flds from notes where id in", note_ids)
        return {nid: (mod, tuple(flds.split("\x1f"))) for nid, mod, flds in rows}

    def _all_in(self, query: str, values: Collection[str | int]) -> list[Any]:
        """The rows of *query*, which ends in "in", for *values*: 500 at a time, under
        SQLite's limit on the values of one query."""
        wanted: list[str | int] = list(values)
        rows: list[Any] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows += self.db.all(f"{query} ({','.join('?' * len(chunk))})", *chunk)
        return rows

    def note_types(self) -> dict[int, tuple[str, ...]]:
        return {
            model: tuple(self.col.models.field_names(notetype))
            for model in MODELS
            if (notetype := self.col.models.get(model))  # type: ignore[arg-type]
        }

    def set_fields(self, model: int, names: Sequence[str]) -> None:
        models = self.col.models
        notetype = models.get(model)  # type: ignore[arg-type]
        assert notetype is not None
        fields = list(notetype["flds"])
        for field, name in zip(fields, names, strict=False):
            if field["name"] != name:
                models.rename_field(notetype, field, name)
        for field in fields[len(names) :]:
            models.remove_field(notetype, field)
        for name in names[len(fields) :]:
            models.add_field(notetype, models.new_field(name))
        models.update_dict(notetype)

    def styles(self) -> dict[int, tuple[str, int]]:
        return {
            model: (notetype["css"], notetype["mod"])
            for model in MODELS
            if (notetype := self.col.models.get(model))  # type: ignore[arg-type]
        }

    def set_style(self, css: str) -> None:
        for model in MODELS:
            if (notetype := self.col.models.get(model)) is not None:  # type: ignore[arg-type]
                notetype["css"] = css
                self.col.models.update_dict(notetype)

    def backup(self, folder: Path) -> str | None:
        # where Anki keeps a profile's backups: beside its collection
        kept = self.path.parent / "backups"
        kept.mkdir(exist_ok=True)
        before = set(kept.iterdir())
        if kept / time.strftime("backup-%Y-%m-%d-%H.%M.%S.colpkg") in before:
            time.sleep(1)  # Anki names a backup after the second: never write over one
        self.col.create_backup(backup_folder=os.fspath(kept), force=True, wait_for_completion=True)
        (made,) = set(kept.iterdir()) - before
        return os.fspath(made)

    def import_package(self, path: Path) -> None:
        from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

        # as AnkiConnect's importPackage does, a note type changed in Anki (a template the
        # student added) is merged with deckforge's rather than copied beside it
        options = ImportAnkiPackageOptions(merge_notetypes=True, with_scheduling=False)
        request = ImportAnkiPackageRequest(package_path=os.fspath(path), options=options)
        self.col.import_anki_package(request)

    def move(self, card_ids: Sequence[int], deck: str) -> None:
        self.col.set_deck(card_ids, self.col.decks.id(deck))  # type: ignore[arg-type]

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        self.col.remove_notes(note_ids)  # type: ignore[arg-type]

    def delete_cards(self, card_ids: Sequence[int]) -> bool:
        self.col.remove_cards_and_orphaned_notes(card_ids)  # type: ignore[arg-type]
        return True

    def add_tag(self, note_ids: Sequence[int], tag: str) -> None:
        self.col.tags.bulk_add(note_ids, tag)  # type: ignore[arg-type]


# -- AnkiConnect ----------------------------------------------------------------------------


class AnkiConnect:
    """The running Anki, through the AnkiConnect add-on's HTTP protocol (version 6).

    AnkiConnect cannot look notes up by GUID: the decks a sync touches are exported, with their
    scheduling (a package holds each note's GUID and id, and an export without scheduling drops
    the tags "marked" and "leech"), which is also the backup.
    """

    def __init__(self, url: str, folder: Path) -> None:
        """*folder*: where the decks are exported, for the time of the sync."""
        check_url(url)
        self.url, self.folder = url, folder
        self.exports: dict[Path, str] = {}  # the decks exported, by their files
        version = self.call("version")
        if not isinstance(version, int) or version < 6:
            raise DeckforgeError(f"{url}: AnkiConnect version {version}; deckforge needs 6")

    def call(self, action: str, **params: Any) -> Any:
        body = json.dumps({"action": action, "version": 6, "params": params}).encode("utf-8")
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as e:
            raise DeckforgeError(
                f"cannot reach AnkiConnect at {self.url} ({e}): is Anki running, with the "
                "AnkiConnect add-on?"
            ) from None
        if not isinstance(answer, dict) or set(answer) != {"result", "error"}:
            raise DeckforgeError(f"{self.url}: not an AnkiConnect answer: {answer!r:.200}")
        if answer["error"] is not None:
            raise DeckforgeError(f"AnkiConnect: {action}: {answer['error']}")
        return answer["result"]

    def notes(
        self, guids: Collection[str], decks: Collection[str], expected: Collection[str]
    ) -> dict[str, AnkiNote]:
        names = {deck_key(name): name for name in self.call("deckNames")}
        wanted = {names[key] for key in map(deck_key, decks) if key in names}
        found = self._exported(wanted, guids)
        if any(guid not in found for guid in expected):
            # cards the student moved to another deck (or a filtered one): AnkiConnect finds
            # the cards of deckforge's note types, and says which decks they are in
            cards = self.call("findCards", query=" OR ".join(f"mid:{m}" for m in MODELS))
            others = set(self.call("getDecks", cards=cards)) - wanted
            found.update(self._exported(others, guids))
        return found

    def _exported(self, decks: Collection[str], guids: Collection[str]) -> dict[str, AnkiNote]:
        found: dict[str, AnkiNote] = {}
        for deck in sorted(decks):
            path = self.folder / f"{len(self.exports)}.apkg"
            self.call("exportPackage", deck=deck, path=os.fspath(path), includeSched=True)
            self.exports[path] = deck
            found.update({n.guid: n for n in _exported(path) if n.guid in guids})
        return found

    def read(self, note_ids: Collection[int]) -> dict[int, tuple[int, tuple[str, ...]]]:
        if not note_ids:
            return {}
        found = {}
        for info in self.call("notesInfo", notes=list(note_ids)):
            if info:  # {} for a note that is gone
                values = sorted(info["fields"].values(), key=lambda f: f["order"])
                found[info["noteId"]] = (info["mod"], tuple(f["value"] for f in values))
        return found

    def _names(self) -> dict[int, str]:
        """The names of deckforge's note types in Anki (the student may rename them), by id."""
        by_name: dict[str, int] = self.call("modelNamesAndIds")
        return {model: name for name, model in by_name.items() if model in MODELS}

    def note_types(self) -> dict[int, tuple[str, ...]]:
        return {
            model: tuple(self.call("modelFieldNames", modelName=name))
            for model, name in self._names().items()
        }

    def set_fields(self, model: int, names: Sequence[str]) -> None:
        name = self._names()[model]
        have = self.call("modelFieldNames", modelName=name)
        for old, new in zip(have, names, strict=False):
            if old != new:
                self.call("modelFieldRename", modelName=name, oldFieldName=old, newFieldName=new)
        for old in have[len(names) :]:
            self.call("modelFieldRemove", modelName=name, fieldName=old)
        for new in names[len(have) :]:
            self.call("modelFieldAdd", modelName=name, fieldName=new)

    def styles(self) -> dict[int, tuple[str, int]]:
        names = self._names()
        if not names:
            return {}
        found = self.call("findModelsByName", modelNames=list(names.values()))
        return {int(m["id"]): (m["css"], int(m["mod"])) for m in found}

    def set_style(self, css: str) -> None:
        for name in self._names().values():
            self.call("updateModelStyling", model={"name": name, "css": css})

    def backup(self, folder: Path) -> str | None:
        """The exports of the decks touched, kept in *folder* (a folder for each sync); None
        when Anki had none of them."""
        if not self.exports:
            return None
        stamp = time.strftime("%Y-%m-%d-%H%M%S")
        kept = folder / stamp
        for n in itertools.count(2):  # a folder of its own, for two syncs in one second
            try:
                kept.mkdir(parents=True)
                break
            except FileExistsError:
                kept = folder / f"{stamp}-{n}"
        for path, deck in self.exports.items():
            shutil.copyfile(path, package_path(deck, kept))
        return os.fspath(kept)

    def import_package(self, path: Path) -> None:
        if self.call("importPackage", path=os.fspath(path)) is not True:
            raise DeckforgeError(f"AnkiConnect: importPackage: Anki did not import {path}")

    def move(self, card_ids: Sequence[int], deck: str) -> None:
        self.call("changeDeck", cards=list(card_ids), deck=deck)

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        self.call("deleteNotes", notes=list(note_ids))

    def delete_cards(self, card_ids: Sequence[int]) -> bool:
        return False  # AnkiConnect has no action for it

    def add_tag(self, note_ids: Sequence[int], tag: str) -> None:
        self.call("addTags", notes=list(note_ids), tags=tag)


def _collection_file(path: Path) -> bool:
    """Whether *path* holds an Anki collection: an SQLite database (its 16-byte header) whose
    schema, on its first pages, makes the ``col`` table. Read as bytes: only Anki opens it."""
    with path.open("rb") as f:
        start = f.read(1 << 20)
    return start.startswith(b"SQLite format 3\x00") and b"CREATE TABLE col " in start


def deck_key(name: str) -> str:
    """What Anki tells decks apart by: not case, nor spaces around "::"."""
    return "::".join(part.strip() for part in name.split("::")).casefold()


def _exported(path: Path) -> list[AnkiNote]:
    """The notes of a package Anki exported, with their ids in the collection."""
    with zipfile.ZipFile(path) as zf:
        # a legacy export keeps the real collection as collection.anki21
        names = zf.namelist()
        member = "collection.anki21" if "collection.anki21" in names else "collection.anki2"
        with reading(zf, member, path) as conn:
            (decks,) = conn.execute("SELECT decks FROM col").fetchone()
            deck_names = {int(k): d["name"] for k, d in json.loads(decks).items()}
            cards: dict[int, list[tuple[int, int, str]]] = {}
            for cid, nid, did, ord_ in conn.execute(
                "SELECT id, nid, CASE WHEN odid THEN odid ELSE did END, ord FROM cards"
            ):
                cards.setdefault(nid, []).append((cid, ord_, deck_names.get(did, "")))
            rows = conn.execute("SELECT id, guid, mid, mod, flds, tags FROM notes").fetchall()
    return [_note(row, cards.get(row[0], [])) for row in rows]


def _note(row: Sequence[Any], cards: list[tuple[int, int, str]]) -> AnkiNote:
    """An AnkiNote of a row of the notes table (id, guid, mid, mod, flds, tags) and its cards."""
    nid, guid, mid, mod, flds, tags = row
    fields, in_order = tuple(flds.split("\x1f")), tuple(sorted(cards, key=lambda c: c[1]))
    return AnkiNote(nid, guid, mid, mod, fields, tuple(tags.split()), in_order)
