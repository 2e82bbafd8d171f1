"""Sending decks straight into Anki: a plan of what should change, computed once, carried out
by either backend of backends.py (the collection file, or AnkiConnect).

An ``.apkg`` import cannot delete, cannot move cards between decks, and updates a note only when
the imported one is newer: a sync can. It compares three things for every note: what deckforge
last wrote (the lock file), what Anki has now, and what the source says.

- A note Anki lacks is added; a note whose source changed is updated, whatever its ``mod``,
  with the tags deckforge does not own (``marked``, ``leech``, the student's own) kept.
- A note whose fields were edited in Anki since deckforge wrote them is left as Anki has it:
  a conflict when its source changed too, reported with both texts. *force* writes the source
  over both.
- Cards move with their deck when the source renames it (or makes it a subdeck); cards the
  student put in another deck stay there.
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
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import files, package, pipeline
from .backends import MODELS, Anki, AnkiNote, deck_key, opened
from .errors import DeckforgeError
from .identity import Changes, Lock, LockedNote, dump_lock, fields_hash, lock_path
from .notes import TAG_ROOT, Note, read_fields
from .pipeline import media_files, package_path, plan
from .schema import Source
from .source import load_all
from .words import plural

REMOVED_TAG = f"{TAG_ROOT}::removed"


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
    spared: list[AnkiNote] = dataclasses.field(default_factory=list)  # and edited in Anki
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
        if renamed:  # cards move with their deck; those the student put elsewhere stay
            result.move += [cid for cid, _, name in there.cards if _same_deck(name, renamed)]
        if note.kind == "cloze":
            result.empty += [cid for cid, ord_, _ in there.cards if ord_ not in note.ords]
        entries.append(_compare(result, note, entry, was, there, options.force))
    live = {note.guid for note in changes.notes}
    for gone in (*changes.removed, *(n for n in locked.values() if n.removed)):
        there, was = anki.get(gone.guid), locked.get(gone.guid)
        if gone.guid in live or there is None or there.kind is None:
            continue
        if options.delete and _edited(was, there) and not options.force:
            result.spared.append(there)  # tagged, not deleted
        elif options.delete or REMOVED_TAG not in there.tags:
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
    edited = not same and _edited(was, there)
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


def _edited(was: LockedNote | None, there: AnkiNote) -> bool:
    """Whether the note Anki has as *there* was edited in Anki since deckforge wrote it as
    *was*: its fields are not what deckforge wrote, and changed since (an older copy, from a
    build never imported, has an older mod: it is no edit)."""
    return (
        was is not None and bool(was.fields) and there.mod >= was.mod
        and fields_hash(there.fields) != was.fields
    )  # fmt: skip


def _same_deck(a: str, b: str) -> bool:
    return deck_key(a) == deck_key(b)


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
    style: str | None = None  # the CSS deckforge's note types get: a deck's own, newer than Anki's

    @property
    def conflicts(self) -> list[Conflict]:
        return [c for p in self.plans for c in p.conflicts]

    @property
    def left_alone(self) -> int:
        """The notes left as Anki has them that the source would change: conflicts, and
        notes whose source is gone but that were edited in Anki (not deleted)."""
        return sum(len(p.conflicts) + len(p.spared) for p in self.plans)

    def report(self) -> list[str]:
        """What happened, in lines for a person."""
        would = "" if self.applied else "would be "
        lines = [f"{change} ({would}put back)" for change in self.fields]
        if self.style is not None:
            lines.append(f"the cards' style (CSS) {would}set")
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
            if p.spared:
                lines.append(
                    f"  {plural(len(p.spared), 'note')} whose source is gone, edited in Anki, "
                    f"{would}tagged {REMOVED_TAG}, not deleted: --force deletes them"
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
            "style": self.style is not None,
            "sources": [
                {
                    "source": str(p.source),
                    "deck": p.deck,
                    "added": [n.guid for n in p.add],
                    "updated": [n.guid for n in p.update],
                    "unchanged": p.unchanged,
                    "moved_cards": p.move,
                    "removed": [n.guid for n in p.remove],
                    "spared": [n.guid for n in p.spared],
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
    with opened(into) as anki, files.building([] if dry_run else folders):
        fields = _field_changes(anki, options.allow_full_sync)
        planned = plan(sources, Path(out_dir))
        decks = {name for c in planned.values() for name in (c.lock.deck, c.renamed) if name}
        locked = [n for c in planned.values() if c.before for n in c.before.notes]
        expected = {n.guid for n in locked if not n.removed}  # what Anki should have
        guids = {n.guid for c in planned.values() for n in c.notes} | {n.guid for n in locked}
        state = anki.notes(guids, decks, expected)
        plans = [
            _plan(path, sources[path].deck.name, changes, state, options)
            for path, changes in planned.items()
        ]  # fmt: skip
        result = SyncResult(plans, fields, None, applied=False, style=_style(anki, plans))
        if dry_run:
            return result
        steps = _steps(anki, result, sources)
        if options.backup and steps:
            steps.insert(0, ("the backup", functools.partial(_backup, anki, result, out_dir)))
        # what was written, as a build writes it: the lock files, and the packages that
        # tell what Anki has when a lock file goes back in time (a git revert)
        if any(_moved_on(p, Path(out_dir)) for p in plans):
            where = ", ".join(str(lock_path(p.source)) for p in plans)
            write = functools.partial(_write, sources, plans, Path(out_dir))
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


def _style(anki: Anki, plans: Sequence[SyncPlan]) -> str | None:
    """The CSS to give deckforge's note types in Anki: that of the decks synced, when one of
    them has a style of its own (or gave one up) newer than the note types' in Anki. A style
    the student edited in Anki since is newer: kept."""
    styled = sorted(p.source for p in plans if p.lock and p.lock.style)
    if not styled:
        return None
    style = pipeline.package_style(styled, {p.source: p.changes for p in plans})
    there = anki.styles().values()
    # (a mod of the same second as the style: the import that brought the note types)
    return style.css if any(css != style.css and mod <= style.mod for css, mod in there) else None


def _backup(anki: Anki, result: SyncResult, out_dir: str | os.PathLike[str]) -> None:
    result.backup = anki.backup(Path(out_dir) / "backups")


def _moved_on(p: SyncPlan, out_dir: Path) -> bool:
    """Whether *p*'s lock file, or its package, is not yet as the sync leaves them."""
    assert p.lock is not None
    before = p.changes.before
    if before is None or p.lock.merged or (p.lock.deck, p.lock.key) != (before.deck, before.key):
        return True
    if {n.guid: n for n in p.lock.notes} != {n.guid: n for n in before.notes}:
        return True  # (the file lists notes by GUID; a lock, in the source's order)
    lock = lock_path(p.source)  # as read (a lock file of an older format is written again)
    text = "".join(dump_lock(p.lock)).encode("utf-8")
    on_disk = lock.read_bytes() if lock.is_file() else b""
    return on_disk != text or not package_path(p.deck, out_dir).is_file()


def _write(sources: Mapping[Path, Source], plans: Sequence[SyncPlan], out_dir: Path) -> None:
    """Write the lock files and packages of *plans*, as Anki has their notes now."""
    written = {}
    for p in plans:
        assert p.lock is not None
        written[p.source] = dataclasses.replace(p.changes, notes=tuple(p.written), lock=p.lock)
    pipeline.write(sources, written, out_dir)


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
    if result.style is not None:
        steps.append(("the cards' style set", functools.partial(anki.set_style, result.style)))
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
        spared = [n.nid for n in p.spared if REMOVED_TAG not in n.tags]
        if spared:
            what = f"{plural(len(spared), 'note')} of {p.source} edited in Anki tagged"
            steps.append((what, functools.partial(anki.add_tag, spared, REMOVED_TAG)))
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
        style = pipeline.package_style(
            [p.source for p in plans], {p.source: p.changes for p in plans}
        )
        with path.open("wb") as f:
            package.write(f, parts, path, media=media, keys=keys, style=style)
        anki.import_package(path)
    for p in plans:
        for tag, ids in p.retag.items():
            anki.add_tag(ids, tag)
    # an import skips a note it would update, saying nothing, when the note type's fields
    # changed in Anki (it is copied instead), or the note is open in Anki's browser
    updated = [(p, n, p.ids[n.guid]) for p in plans for n in p.update]
    there = anki.read([nid for _, _, nid in updated])
    skipped = [(p, n) for p, n, nid in updated if nid not in there or there[nid][1] != n.fields]
    if skipped:
        p, note = skipped[0]
        title = p.changes.title(note) or note.text.split("\n", 1)[0]
        raise DeckforgeError(
            f"Anki did not update {plural(len(skipped), 'note')} of {len(updated)} (the "
            f"first: {title!r}): was a note type of deckforge's changed in Anki, or is the "
            "note open in Anki's browser?"
        )
    for p in plans:  # the lock keeps each note's mod as Anki has it (a tag put back moves it)
        mods = {n.guid: there[p.ids[n.guid]][0] for n in p.update}
        p.written = [n._replace(mod=mods.get(n.guid, n.mod)) for n in p.written]
        assert p.lock is not None
        notes = tuple(n._replace(mod=mods.get(n.guid, n.mod)) for n in p.lock.notes)
        p.lock = dataclasses.replace(p.lock, notes=notes)


def _delete_cards(anki: Anki, result: SyncResult, card_ids: Sequence[int]) -> None:
    if not anki.delete_cards(card_ids):
        result.empty_left = True
