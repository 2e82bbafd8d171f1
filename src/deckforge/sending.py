"""Sending decks straight into Anki: a plan of what should change, computed once, and two small
backends that carry it out, one on a collection file (through Anki's own ``anki`` package, Anki
being closed), one through AnkiConnect in the running Anki.

An ``.apkg`` import cannot delete, cannot move cards between decks, and updates a note only when
the imported one is newer: a sync can. It compares three things for every note: what deckforge
last wrote (the lock file), what Anki has now, and what the source says.

- A note Anki lacks is added; a note whose source changed is updated, whatever its ``mod``,
  with the tags deckforge does not own (``marked``, ``leech``, the student's own) kept.
- A note whose fields were edited in Anki since deckforge wrote them is left as Anki has it:
  a conflict when its source changed too, reported with both texts. *force* writes the source
  over both.
- Cards live in the deck their source names (or a subdeck of it the student made): a card
  elsewhere (in the deck before a rename) is moved there.
- A note whose source is gone is tagged ``deckforge::removed``, or deleted with *delete*, as are
  cards left empty by a deletion that went. Only notes whose GUID the lock knows, in deckforge's
  note types, are touched.

Notes are added and updated by importing a package of exactly those notes (Anki then puts the
note types, decks and media in place, and keeps GUIDs); the rest is done one step each. Before
anything is written, the collection is backed up (a backup of Anki's own, or an export of the
decks touched). The lock files are written only once everything was applied.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import shutil
import sqlite3
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import files, package, pipeline
from .errors import DeckforgeError
from .identity import Changes, Lock, LockedNote, dump_lock, fields_hash, lock_path
from .notes import CLOZE_FIELDS, QA_FIELDS, TAG_ROOT, Note, NoteKind, read_fields
from .package import CLOZE_MODEL_ID, QA_MODEL_ID
from .pipeline import media_files, package_path, plan
from .schema import Source
from .source import load_all
from .words import plural

REMOVED_TAG = f"{TAG_ROOT}::removed"
MODELS: dict[int, tuple[NoteKind, tuple[str, ...]]] = {
    QA_MODEL_ID: ("qa", QA_FIELDS),
    CLOZE_MODEL_ID: ("cloze", CLOZE_FIELDS),
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

    def notes(self, guids: Collection[str], decks: Collection[str]) -> dict[str, AnkiNote]:
        """The notes with these GUIDs (those in *decks*, for a backend that cannot look notes
        up by GUID)."""

    def fields(self, note_ids: Collection[int]) -> dict[int, tuple[str, ...]]:
        """The fields of the notes with these ids, by id."""

    def note_types(self) -> dict[int, tuple[str, ...]]:
        """The field names of each of deckforge's note types the collection has, by id."""

    def set_fields(self, model: int, names: Sequence[str]) -> None:
        """Rename, add or remove fields of the note type *model* until they are *names*."""

    def backup(self, folder: Path) -> str | None:
        """Back the collection up (into *folder*, for a backend that keeps no backups of its
        own); say where (None: there was nothing to back up)."""

    def import_package(self, path: Path) -> None: ...

    def move(self, card_ids: Sequence[int], deck: str) -> None: ...

    def delete_notes(self, note_ids: Sequence[int]) -> None: ...

    def delete_cards(self, card_ids: Sequence[int]) -> bool:
        """Delete cards (False: this backend cannot; they are reported instead)."""

    def add_tag(self, note_ids: Sequence[int], tag: str) -> None: ...


# -- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncOptions:
    """How far a sync may go."""

    delete: bool = False  # delete notes whose source is gone (else tag them), and empty cards
    force: bool = False  # overwrite notes edited in Anki since deckforge wrote them
    backup: bool = True  # back the collection up before writing
    allow_full_sync: bool = False  # add or remove fields of deckforge's note types in Anki


@dataclass(frozen=True)
class Conflict:
    """A note edited in Anki since deckforge wrote it, whose source differs."""

    note: Note  # what the source says
    anki: AnkiNote  # what Anki has

    def texts(self) -> tuple[str, str]:
        """The note's text in Anki, and in the source."""
        if self.anki.kind is None:
            return "\n".join(self.anki.fields), self.note.text
        return read_fields(self.anki.kind, self.anki.fields)[0], self.note.text


@dataclass
class SyncPlan:
    """What syncing one source changes in the collection."""

    source: Path
    deck: str
    changes: Changes  # against the lock file, as `deckforge diff` shows them
    add: list[Note] = dataclasses.field(default_factory=list)
    update: list[Note] = dataclasses.field(default_factory=list)  # with the tags they keep
    unchanged: int = 0
    conflicts: list[Conflict] = dataclasses.field(default_factory=list)  # left alone
    kept: list[Conflict] = dataclasses.field(default_factory=list)  # edited in Anki only
    forced: list[Conflict] = dataclasses.field(default_factory=list)  # overwritten (force)
    move: list[int] = dataclasses.field(default_factory=list)  # card ids, into the deck
    remove: list[AnkiNote] = dataclasses.field(default_factory=list)  # source gone
    empty: list[int] = dataclasses.field(default_factory=list)  # card ids
    delete: bool = False  # *remove* and *empty* are deleted (else tagged, and left)
    lock: Lock | None = None  # the lock file to write once applied
    written: list[Note] = dataclasses.field(default_factory=list)  # the notes as Anki has them
    ids: dict[str, int] = dataclasses.field(default_factory=dict)  # note ids in Anki, by GUID
    # tags an import drops ("marked", "leech"), to put back on the notes updated: tag -> ids
    retag: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        parts = [
            f"{len(self.add)} added",
            f"{len(self.update)} updated",
            f"{self.unchanged} unchanged",
            f"{len(self.remove)} {'deleted' if self.delete else 'tagged removed'}",
        ]
        if self.move:
            parts.append(f"{plural(len(self.move), 'card')} moved")
        if self.empty:
            parts.append(
                f"{plural(len(self.empty), 'empty card')} {'deleted' if self.delete else 'left'}"
            )
        if self.conflicts:
            parts.append(plural(len(self.conflicts), "conflict"))
        return f"{self.source}: {', '.join(parts)}"


def _plan(
    source: Path, deck: str, changes: Changes, anki: Mapping[str, AnkiNote], options: SyncOptions
) -> SyncPlan:  # fmt: skip
    """Compare each note of *changes* with what deckforge last wrote (the lock the notes were
    matched with) and with what *anki* has."""
    result = SyncPlan(source, deck, changes, delete=options.delete)
    locked = {n.guid: n for n in changes.before.notes} if changes.before else {}
    renamed = changes.renamed
    entries = []
    for note, entry in zip(changes.notes, changes.lock.notes, strict=False):
        was, there = locked.get(note.guid), anki.get(note.guid)
        if there is None:
            result.add.append(note)
            result.written.append(note)
            entries.append(entry)
            continue
        if there.kind != note.kind:  # another note type's note, with this GUID
            result.conflicts.append(Conflict(note, there))
            entries.append(was or entry)
            continue
        result.move += [cid for cid, _, name in there.cards if _misplaced(name, deck, renamed)]
        if note.kind == "cloze":
            result.empty += [cid for cid, ord_, _ in there.cards if ord_ not in note.ords]
        entries.append(_compare(result, note, entry, was, there, options.force))
    live = {note.guid for note in changes.notes}
    for gone in (*changes.removed, *(n for n in locked.values() if n.removed)):
        there = anki.get(gone.guid)
        if gone.guid in live or there is None or there.kind is None:
            continue
        if options.delete or REMOVED_TAG not in there.tags:
            result.remove.append(there)
    kept = changes.lock.notes[len(changes.notes) :]  # removed notes remembered
    result.lock = dataclasses.replace(changes.lock, notes=(*entries, *kept))
    return result


def _compare(
    result: SyncPlan, note: Note, entry: LockedNote, was: LockedNote | None, there: AnkiNote,
    force: bool,
) -> LockedNote:  # fmt: skip
    """Plan *note*, which Anki has as *there* and deckforge last wrote as *was*: unchanged,
    updated, or left as edited in Anki; its lock entry once applied."""
    same = there.fields == note.fields
    # (most notes, most times, have the tags deckforge gave them: no need to merge)
    tags = note.tags if same and there.tags == note.tags else _merged_tags(note.tags, there.tags)
    if same and (tags is note.tags or _same_tags(tags, there.tags)):
        result.unchanged += 1
        result.written.append(note._replace(mod=there.mod))
        return entry._replace(mod=there.mod)
    # edited in Anki: fields other than deckforge last wrote, changed since it wrote them
    # (an older copy, from a build never imported, has an older mod: it is no edit)
    edited = (
        was is not None and bool(was.fields) and there.mod >= was.mod
        and fields_hash(there.fields) != was.fields and not same
    )  # fmt: skip
    if edited and not force:
        assert was is not None
        source_changed = was.fields != fields_hash(note.fields)
        (result.conflicts if source_changed else result.kept).append(Conflict(note, there))
        return was
    if edited:
        result.forced.append(Conflict(note, there))
    # a mod that moves forward: an apkg import of a later build must see it as older
    written = note._replace(tags=tags, mod=max(note.mod, there.mod + 1, int(time.time())))
    result.update.append(written)
    result.written.append(written)
    result.ids[note.guid] = there.nid
    for tag in there.tags:
        if tag.casefold() in _DROPPED:
            result.retag.setdefault(tag, []).append(there.nid)
    return entry._replace(mod=written.mod)


def _misplaced(name: str, deck: str, renamed: str | None) -> bool:
    """Whether a card in the deck *name* belongs in *deck*: cards live in their source's deck,
    or in a subdeck of it the student made (not the deck's name before a rename)."""
    return name != deck and (not name.startswith(f"{deck}::") or name == renamed)


_DROPPED = {"marked", "leech"}  # Anki's importer removes them from the notes it updates


def _merged_tags(ours: Sequence[str], theirs: Sequence[str]) -> tuple[str, ...]:
    """Our tags, and those of Anki's that deckforge does not own (the student's own)."""
    owned = {tag.casefold() for tag in ours}
    own = (t for t in theirs if t.casefold() not in owned and not t.startswith(f"{TAG_ROOT}::"))
    return (*ours, *own)


def _same_tags(a: Iterable[str], b: Iterable[str]) -> bool:
    return {tag.casefold() for tag in a} == {tag.casefold() for tag in b}


@dataclass(frozen=True)
class FieldChange:
    """Fields of one of deckforge's note types that a sync puts back as deckforge has them."""

    model: int
    have: tuple[str, ...]  # in Anki
    want: tuple[str, ...]

    @property
    def full_sync(self) -> bool:
        """Adding or removing a field makes AnkiWeb ask for a full sync; renaming does not."""
        return len(self.have) != len(self.want)

    def __str__(self) -> str:
        kind = MODELS[self.model][0]
        have, want = ", ".join(self.have), ", ".join(self.want)
        return f"the fields of deckforge's {kind} note type: {have} → {want}"


def _field_changes(anki: Anki, allowed: bool) -> list[FieldChange]:
    """The fields of deckforge's note types that Anki has otherwise (a field renamed, added or
    removed in Anki), to be put back before notes are written; refused when that forces a full
    sync with AnkiWeb, unless *allowed*."""
    result = []
    for model, names in anki.note_types().items():
        kind, ours = MODELS[model]
        if names == ours:
            continue
        change = FieldChange(model, names, ours)
        if change.full_sync and not allowed:
            raise DeckforgeError(
                f"the note type of deckforge's {kind} notes in Anki has the fields "
                f"{', '.join(names)}, not {', '.join(ours)}: putting them back adds or removes "
                "a field, which makes AnkiWeb ask for a full sync next time (the reviews of "
                "one side lost). Undo the change in Anki (Tools → Manage Note Types → "
                "Fields), or sync with --allow-full-sync"
            )
        result.append(change)
    return result


# -- carrying it out ------------------------------------------------------------------------


class SyncError(DeckforgeError):
    """A sync that stopped part of the way: what was done, and what was not."""

    def __init__(self, failed: str, error: object, done: Sequence[str], left: Sequence[str]):
        self.done, self.left = tuple(done), (failed, *left)
        lines = [f"sync stopped: {failed}: {error}"]
        lines += [f"  done: {step}" for step in done] or ["  done: nothing before it"]
        lines += [f"  not done: {step}" for step in self.left]
        lines.append("The lock files are as they were; sync again to finish.")
        super().__init__("\n".join(lines))


@dataclass
class SyncResult:
    """What a sync did (or, for a dry run, would do), source by source, and where the
    collection was backed up."""

    plans: list[SyncPlan]
    fields: list[FieldChange]
    backup: str | None
    applied: bool
    empty_left: bool = False  # the backend could not delete empty cards

    @property
    def conflicts(self) -> list[Conflict]:
        return [c for p in self.plans for c in p.conflicts]

    def report(self) -> list[str]:
        """What happened, in lines for a person."""
        would = "" if self.applied else "would be "
        lines = [f"{change} ({would}put back)" for change in self.fields]
        for p in self.plans:
            lines.append(p.summary() + ("" if self.applied else " (dry run)"))
            for conflict in (*p.conflicts, *p.kept):
                anki, ours = conflict.texts()
                what = "conflict" if conflict in p.conflicts else "kept"
                title = p.changes.title(conflict.note) or ours.split("\n", 1)[0]
                lines.append(f"  {what}: {title!r} was edited in Anki")
                lines += [f"    Anki:   {anki!r}", f"    source: {ours!r}"]
            if p.kept:
                edited = plural(len(p.kept), "note")
                lines.append(f"  {edited} edited in Anki {would}kept: --force writes the source")
            if p.empty and (not p.delete or self.empty_left):
                lines.append(
                    f"  {plural(len(p.empty), 'empty card')} {would}left in Anki: delete them "
                    "with --delete (collection files), or Tools → Empty Cards in Anki"
                )
            if p.remove and not p.delete:
                lines.append(
                    f"  {plural(len(p.remove), 'note')} whose source is gone {would}tagged "
                    f"{REMOVED_TAG}: --delete deletes them"
                )
        if self.backup:
            lines.append(f"backup: {self.backup}")
        if self.conflicts:
            lines.append(
                f"{plural(len(self.conflicts), 'conflict')} left alone: --force writes the source "
                "over the edits made in Anki"
            )
        return lines

    def as_json(self) -> dict[str, object]:
        """The plan and the outcome, for scripts."""
        return {
            "applied": self.applied,
            "backup": self.backup,
            "fields": [{"have": c.have, "want": c.want} for c in self.fields],
            "sources": [
                {
                    "source": str(p.source),
                    "deck": p.deck,
                    "added": [n.guid for n in p.add],
                    "updated": [n.guid for n in p.update],
                    "unchanged": p.unchanged,
                    "moved_cards": p.move,
                    "removed": [n.guid for n in p.remove],
                    "deleted": p.delete,
                    "empty_cards": p.empty,
                    "empty_cards_left": bool(p.empty) and (not p.delete or self.empty_left),
                    "conflicts": [_conflict_json(c) for c in p.conflicts],
                    "kept": [_conflict_json(c) for c in p.kept],
                    "forced": [n.note.guid for n in p.forced],
                }
                for p in self.plans
            ],
        }


def _conflict_json(conflict: Conflict) -> dict[str, str]:
    anki, source = conflict.texts()
    return {"guid": conflict.note.guid, "anki": anki, "source": source}


def sync(
    paths: Iterable[str | os.PathLike[str]],
    into: str | os.PathLike[str],
    options: SyncOptions = SyncOptions(),
    *,
    dry_run: bool = False,
    out_dir: str | os.PathLike[str] = "dist",
) -> SyncResult:
    """Send the decks of *paths* (files, or folders of them) *into* a collection file whose
    Anki is closed, or into the running Anki through AnkiConnect at the URL *into* names
    (``http://127.0.0.1:8765``).

    See the module's documentation for what it changes; *dry_run* plans and changes nothing.
    Raises :class:`SyncError` when it stops part of the way.
    """
    sources = load_all(paths)
    folders = [Path(out_dir), *(lock_path(path).parent for path in sources)]
    with files.building(folders), _opened(into) as anki:
        fields = _field_changes(anki, options.allow_full_sync)
        planned = plan(sources, Path(out_dir))
        decks = {name for c in planned.values() for name in (c.lock.deck, c.renamed) if name}
        guids = {n.guid for c in planned.values() for n in c.notes}
        guids |= {n.guid for c in planned.values() if c.before for n in c.before.notes}
        state = anki.notes(guids, decks)
        plans = [
            _plan(path, sources[path].deck.name, changes, state, options)
            for path, changes in planned.items()
        ]  # fmt: skip
        result = SyncResult(plans, fields, None, applied=False)
        if dry_run:
            return result
        steps = _steps(anki, result, sources)
        if options.backup and steps:
            result.backup = anki.backup(Path(out_dir) / "backups")
        # what was written, as a build writes it: the lock files, and the packages that
        # tell what Anki has when a lock file goes back in time (a git revert)
        if any(_moved_on(p, Path(out_dir)) for p in plans):
            written = {p.source: _written(p) for p in plans}
            where = ", ".join(str(lock_path(path)) for path in written)
            write = functools.partial(pipeline.write, sources, written, Path(out_dir))
            steps.append((f"{where} and the packages in {out_dir} written", write))
        done: list[str] = []
        for i, (what, step) in enumerate(steps):
            try:
                step()
            except Exception as e:
                raise SyncError(what, e, done, [w for w, _ in steps[i + 1 :]]) from e
            done.append(what)
    result.applied = True
    return result


Step = tuple[str, Callable[[], None]]


def _moved_on(p: SyncPlan, out_dir: Path) -> bool:
    """Whether *p*'s lock file, or its package, is not yet as the sync leaves them."""
    assert p.lock is not None
    if p.lock != p.changes.before or p.lock.merged:
        return True
    lock = lock_path(p.source)  # as read (a lock file of an older format is written again)
    text = "".join(dump_lock(p.lock)).encode("utf-8")
    on_disk = lock.read_bytes() if lock.is_file() else b""
    return on_disk != text or not package_path(p.deck, out_dir).is_file()


def _written(p: SyncPlan) -> Changes:
    assert p.lock is not None
    return dataclasses.replace(p.changes, notes=tuple(p.written), lock=p.lock)


def _steps(anki: Anki, result: SyncResult, sources: Mapping[Path, Source]) -> list[Step]:
    """What to do in Anki to carry out *result*'s plans, one step at a time, each said."""
    steps: list[Step] = [
        (f"{change} put back", functools.partial(anki.set_fields, change.model, change.want))
        for change in result.fields
    ]
    plans = [p for p in result.plans if p.add or p.update]
    if plans:
        added, updated = sum(len(p.add) for p in plans), sum(len(p.update) for p in plans)
        steps.append((
            f"{plural(added, 'note')} added and {updated} updated",
            functools.partial(_import, anki, plans, sources),
        ))  # fmt: skip
    retag: dict[str, list[int]] = {}
    for p in plans:
        for tag, ids in p.retag.items():
            retag.setdefault(tag, []).extend(ids)
    for tag, ids in sorted(retag.items()):
        what = f"the tag {tag} put back on {plural(len(ids), 'note')} (an import drops it)"
        steps.append((what, functools.partial(anki.add_tag, ids, tag)))
    for p in result.plans:
        if p.move:
            what = f"{plural(len(p.move), 'card')} moved into {p.deck!r}"
            steps.append((what, functools.partial(anki.move, p.move, p.deck)))
        ids = [n.nid for n in p.remove]
        if ids and p.delete:
            what = f"{plural(len(ids), 'note')} of {p.source} whose source is gone deleted"
            steps.append((what, functools.partial(anki.delete_notes, ids)))
        elif ids:
            what = f"{plural(len(ids), 'note')} of {p.source} whose source is gone tagged"
            steps.append((what, functools.partial(anki.add_tag, ids, REMOVED_TAG)))
        if p.empty and p.delete:
            what = f"{plural(len(p.empty), 'empty card')} of {p.source} deleted"
            steps.append((what, functools.partial(_delete_cards, anki, result, p.empty)))
    return steps


def _import(anki: Anki, plans: Sequence[SyncPlan], sources: Mapping[Path, Source]) -> None:
    """Add and update the notes of *plans* by importing a package of them."""
    parts = [(sources[p.source].deck, [*p.add, *p.update]) for p in plans]
    keys = [p.lock.key for p in plans if p.lock]
    media = {
        name: file
        for p in plans
        if p.lock
        for name, file in media_files(sources[p.source], p.source, p.lock.key).items()
    }
    with tempfile.TemporaryDirectory(prefix="deckforge-sync-") as folder:
        path = Path(folder) / "sync.apkg"
        with path.open("wb") as f:
            package.write(f, parts, path, media=media, keys=keys)
        anki.import_package(path)
    # an import skips a note it would update, saying nothing, when the note type's fields
    # changed in Anki (it is copied instead), or the note is open in Anki's browser
    updated = [(p, n, p.ids[n.guid]) for p in plans for n in p.update]
    there = anki.fields([nid for _, _, nid in updated])
    skipped = [(p, n) for p, n, nid in updated if there.get(nid) != n.fields]
    if skipped:
        p, note = skipped[0]
        title = p.changes.title(note) or note.text.split("\n", 1)[0]
        raise DeckforgeError(
            f"Anki did not update {plural(len(skipped), 'note')} of {len(updated)} (the "
            f"first: {title!r}): was a note type of deckforge's changed in Anki, or is the "
            "note open in Anki's browser?"
        )


def _delete_cards(anki: Anki, result: SyncResult, card_ids: Sequence[int]) -> None:
    if not anki.delete_cards(card_ids):
        result.empty_left = True


@contextmanager
def _opened(into: str | os.PathLike[str]) -> Iterator[Anki]:
    if isinstance(into, str) and into.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory(prefix="deckforge-ankiconnect-") as folder:
            yield AnkiConnect(into, Path(folder))
        return
    direct = Direct(Path(into))
    try:
        yield direct
    finally:
        direct.close()


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

    def notes(self, guids: Collection[str], decks: Collection[str]) -> dict[str, AnkiNote]:
        # no search finds a GUID ("guid:" is read as a field): the notes table is read instead
        names = {d.id: d.name for d in self.col.decks.all_names_and_ids()}
        found: dict[str, AnkiNote] = {}
        wanted = list(guids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.db.all(
                "select id, guid, mid, mod, flds, tags from notes where guid in "
                f"({','.join('?' * len(chunk))})",
                *chunk,
            )
            cards: dict[int, list[tuple[int, int, str]]] = {}
            if rows:
                nids = [row[0] for row in rows]
                for cid, nid, did, ord_ in self.db.all(
                    "select id, nid, case when odid then odid else did end, ord from cards "
                    f"where nid in ({','.join('?' * len(nids))})",
                    *nids,
                ):
                    cards.setdefault(nid, []).append((cid, ord_, names.get(did, "")))
            found.update({row[1]: _note(row, cards.get(row[0], [])) for row in rows})
        return found

    def fields(self, note_ids: Collection[int]) -> dict[int, tuple[str, ...]]:
        found: dict[int, tuple[str, ...]] = {}
        wanted = list(note_ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.all(f"select id, flds from notes where id in ({marks})", *chunk)
            found.update((nid, tuple(flds.split("\x1f"))) for nid, flds in rows)
        return found

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

    def backup(self, folder: Path) -> str | None:
        # where Anki keeps a profile's backups: beside its collection
        kept = self.path.parent / "backups"
        kept.mkdir(exist_ok=True)
        before = set(kept.iterdir())
        self.col.create_backup(backup_folder=os.fspath(kept), force=True, wait_for_completion=True)
        made = sorted(set(kept.iterdir()) - before)
        return os.fspath(made[-1] if made else kept)

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
        self.url, self.folder = url, folder
        self.exports: list[Path] = []
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

    def notes(self, guids: Collection[str], decks: Collection[str]) -> dict[str, AnkiNote]:
        known = set(self.call("deckNames"))
        found: dict[str, AnkiNote] = {}
        for deck in sorted(set(decks) & known):
            path = package_path(deck, self.folder)
            self.call("exportPackage", deck=deck, path=os.fspath(path), includeSched=True)
            self.exports.append(path)
            found.update({n.guid: n for n in _exported(path) if n.guid in guids})
        return found

    def fields(self, note_ids: Collection[int]) -> dict[int, tuple[str, ...]]:
        if not note_ids:
            return {}
        found = {}
        for info in self.call("notesInfo", notes=list(note_ids)):
            if info:  # {} for a note that is gone
                values = sorted(info["fields"].values(), key=lambda f: f["order"])
                found[info["noteId"]] = tuple(f["value"] for f in values)
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
        for path in self.exports:
            shutil.copyfile(path, kept / path.name)
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


def _exported(path: Path) -> list[AnkiNote]:
    """The notes of a package Anki exported, with their ids in the collection."""
    with zipfile.ZipFile(path) as zf, files.scratch(path) as database:
        # a legacy export keeps the real collection as collection.anki21
        names = zf.namelist()
        member = "collection.anki21" if "collection.anki21" in names else "collection.anki2"
        database.write_bytes(zf.read(member))
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            (decks,) = conn.execute("SELECT decks FROM col").fetchone()
            deck_names = {int(k): d["name"] for k, d in json.loads(decks).items()}
            cards: dict[int, list[tuple[int, int, str]]] = {}
            for cid, nid, did, ord_ in conn.execute(
                "SELECT id, nid, CASE WHEN odid THEN odid ELSE did END, ord FROM cards"
            ):
                cards.setdefault(nid, []).append((cid, ord_, deck_names.get(did, "")))
            rows = conn.execute("SELECT id, guid, mid, mod, flds, tags FROM notes").fetchall()
        finally:
            conn.close()
    return [_note(row, cards.get(row[0], [])) for row in rows]


def _note(row: Sequence[Any], cards: list[tuple[int, int, str]]) -> AnkiNote:
    """An AnkiNote of a row of the notes table (id, guid, mid, mod, flds, tags) and its cards."""
    nid, guid, mid, mod, flds, tags = row
    fields, in_order = tuple(flds.split("\x1f")), tuple(sorted(cards, key=lambda c: c[1]))
    return AnkiNote(nid, guid, mid, mod, fields, tuple(tags.split()), in_order)
