"""Write notes as an Anki package (``.apkg``), atomically and reproducibly.

The package is genanki's format, built from genanki's own parts: its SQLite schema and
collection row (``genanki.apkg_schema``, ``genanki.apkg_col``) and its ``Model`` and ``Deck``
JSON. The notes and cards go in with one ``executemany`` each, in one transaction, with the
indexes built afterwards, instead of genanki's one ``execute`` per row: the same rows, written
about twice as fast. Each note keeps its own modification time (genanki stamps one time on
everything; see identity.py for why that matters).

The database is written to a temporary file beside the target and copied into the zip (stored
uncompressed, as genanki does), with fixed entry dates and order (the same notes give the same
bytes); the zip is itself a temporary file that replaces the target only once complete. Nothing
is left behind either way (genanki's ``write_to_file`` writes the target in place and leaves its
temporary database in the system's temporary folder).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import sqlite3
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from .cloze import escape
from .errors import PackageError
from .files import scratch, write_all
from .identity import Built, build_time, state
from .notes import CLOZE_FIELDS, QA_FIELDS, Note, NoteKind, digest
from .schema import Deck

# Anki matches note types by id, and their schema by field and template names: both are fixed.
QA_MODEL_ID = 1_502_873_661
CLOZE_MODEL_ID = 1_502_873_662
KINDS: dict[int, NoteKind] = {QA_MODEL_ID: "qa", CLOZE_MODEL_ID: "cloze"}  # by note type id
# When the note types' templates or CSS last changed. Anki replaces a user's copy of a note
# type (and any CSS they tweaked) only when this is newer, so raise it with every such change.
MODELS_MOD = 1_795_000_000
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

CSS = """\
.card {
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
  font-size: 20px;
  line-height: 1.5;
  text-align: left;
  color: #1f2328;
  background-color: #ffffff;
  max-width: 38em;
  margin: 0 auto;
  padding: 0.75em 1em;
  overflow-wrap: break-word;
}
.context { font-size: 0.75em; color: #656d76; }
.topic { font-size: 1.3em; font-weight: 600; margin: 0.2em 0 0.6em; }
.prompt { color: #656d76; font-style: italic; }
.facts ul { margin: 0; padding-left: 1.2em; }
.facts li { margin: 0.35em 0; }
.cloze { font-weight: 600; color: #0969da; }
.images img { max-width: 100%; height: auto; margin-top: 0.6em; }
hr#answer { border: 0; border-top: 1px solid #d0d7de; margin: 0.8em 0; }
.card.nightMode, .card.night_mode, .nightMode .card { color: #e6edf3; background-color: #0d1117; }
.nightMode .context, .nightMode .prompt { color: #8d96a0; }
.nightMode .cloze { color: #58a6ff; }
.nightMode hr#answer { border-top-color: #30363d; }
@media (max-width: 480px) { .card { font-size: 18px; padding: 0.5em; } }
"""

_IMAGES = '{{#Images}}<div class="images">{{Images}}</div>{{/Images}}'
_QA_FRONT = """\
<div class="context">{{Context}}</div>
<div class="topic">{{Topic}}</div>
<div class="prompt">What are the key facts?</div>"""
_QA_BACK = """\
<div class="context">{{Context}}</div>
<div class="topic">{{Topic}}</div>
<hr id="answer">
<div class="facts">{{Facts}}</div>"""
_CLOZE_FRONT = """\
<div class="context">{{Context}} › {{Topic}}</div>
<div class="text">{{cloze:Text}}</div>"""
_QA_BACK += "\n" + _IMAGES
_CLOZE_BACK = _CLOZE_FRONT + "\n" + _IMAGES
# each note type's front and back templates, by the kind of note
TEMPLATES: dict[NoteKind, tuple[str, str]] = {
    "qa": (_QA_FRONT, _QA_BACK),
    "cloze": (_CLOZE_FRONT, _CLOZE_BACK),
}


def deck_id_for(name: str) -> int:
    """The deck's id; Anki matches decks by name, so the id only has to be stable and valid."""
    return (1 << 30) + int.from_bytes(digest("deck", name), "big") % (1 << 30)


@dataclass(frozen=True)
class PackageInfo:
    """What was written: the package's path and how many notes and cards it holds."""

    path: Path
    notes: int
    cards: int


class Style(NamedTuple):
    """The CSS of deckforge's note types, and the ``mod`` Anki reads as when it changed."""

    css: str = CSS
    mod: int = MODELS_MOD


BUILT_IN = Style()


def _models(css: str = CSS) -> dict[str, Any]:
    import genanki

    return {
        "qa": genanki.Model(
            QA_MODEL_ID,
            "deckforge Q/A",
            fields=[{"name": name} for name in QA_FIELDS],
            templates=[{"name": "Q/A", "qfmt": TEMPLATES["qa"][0], "afmt": TEMPLATES["qa"][1]}],
            css=css,
        ),
        "cloze": genanki.Model(
            CLOZE_MODEL_ID,
            "deckforge Cloze",
            fields=[{"name": name} for name in CLOZE_FIELDS],
            templates=[
                {"name": "Cloze", "qfmt": TEMPLATES["cloze"][0], "afmt": TEMPLATES["cloze"][1]}
            ],
            css=css,
            model_type=genanki.Model.CLOZE,
        ),
    }


Part = tuple[Deck, Sequence[Note]]  # a deck and its notes
Progress = Callable[[int, int], None]  # (notes written, notes in all)
_ROWS_PER_CHUNK = 1000
_ZEROS = (0,) * 8  # a new card's interval, factor, reviews, lapses, left, odue, odid, flags


def _check(parts: Sequence[Part]) -> int:
    """Refuse what genanki would write without complaint but Anki cannot use; count notes."""
    guids: set[str] = set()
    for _, notes in parts:
        for note in notes:
            if note.kind == "cloze" and (
                not note.numbers
                or not all(f"{{{{c{n}::" in note.fields[0] for n in set(note.numbers))
            ):
                # such a note would have cards with nothing to ask, or none at all
                msg = f"cloze note {note.guid!r} does not hold its deletions: {note.text!r}"
                raise PackageError(msg)
            if note.guid in guids:
                raise PackageError(f"two notes have the GUID {note.guid!r}: {note.text!r}")
            guids.add(note.guid)
    return len(guids)


def write_collection(
    path: str | os.PathLike[str],
    parts: Sequence[Part],
    progress: Progress | None = None,
    style: Style = BUILT_IN,
) -> None:
    """Write the package's SQLite database for every deck of *parts* at *path*, its note types
    in *style*. *progress* is called as notes are written, with (written, total)."""
    from genanki.apkg_col import APKG_COL
    from genanki.apkg_schema import APKG_SCHEMA

    total = _check(parts)
    models = _models(style.css)
    decks = {str(deck_id_for(deck.name)): _deck_json(deck) for deck, _ in parts}
    tables, indexes = _schema(APKG_SCHEMA)
    rows = _rows(parts, models, build_time())
    written = 0
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        conn.executescript(tables)
        conn.executescript(APKG_COL)
        conn.execute("BEGIN")
        model_json = {str(m.model_id): m.to_json(style.mod, None) for m in models.values()}
        conn.execute("UPDATE col SET models = ?, decks = ?", _col_json(conn, model_json, decks))
        # in chunks, so that the rows of the whole deck are never in memory at once
        while chunk := list(itertools.islice(rows, _ROWS_PER_CHUNK)):
            conn.executemany(
                "INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", (n for n, _ in chunk)
            )
            card_rows = [card for _, note_cards in chunk for card in note_cards]
            conn.executemany(
                "INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", card_rows
            )
            written += len(chunk)
            if progress is not None:
                progress(written, total)
        for index in indexes:  # after the rows: one sort instead of many updates
            conn.execute(index)
        conn.execute("COMMIT")
    finally:
        conn.close()


Row = tuple[object, ...]


def _rows(
    parts: Sequence[Part], models: dict[str, Any], now: int
) -> Iterator[tuple[Row, list[Row]]]:
    """Each note's row and its cards' rows. Ids count up from each note's time in
    milliseconds, as Anki's own do: Anki keeps a new card's id from the package when it is
    free, and a card deleted earlier leaves its review log under its id, so an id must never
    come back (a fixed start would give a new card a deleted one's history)."""
    last = 0

    def new_id(mod: int) -> int:
        nonlocal last
        last = max(last + 1, mod * 1000)
        return last

    model_ids = {kind: model.model_id for kind, model in models.items()}
    for deck, notes in parts:
        deck_id = deck_id_for(deck.name)
        for position, note in enumerate(notes):
            mod = note.mod or now
            note_id = new_id(mod)
            tags = f" {' '.join(note.tags)} "
            fields = "\x1f".join(note.fields)
            row = (note_id, note.guid, model_ids[note.kind], mod, -1, tags, fields, note.fields[0])
            yield (
                (*row, 0, 0, ""),
                [
                    (new_id(mod), note_id, deck_id, ord_, mod, -1, 0, 0, position, *_ZEROS, "")
                    for ord_ in note.ords
                ],
            )


def card_count(notes: Iterable[Note]) -> int:
    """How many cards Anki makes of *notes*."""
    return sum(len(note.ords) for note in notes)


def _deck_json(deck: Deck) -> object:
    import genanki

    # the description as typed: Anki shows it as HTML
    return genanki.Deck(deck_id_for(deck.name), deck.name, escape(deck.description)).to_json()


def _col_json(
    conn: sqlite3.Connection, models: dict[str, object], decks: dict[str, object]
) -> tuple[str, str]:
    (old_decks,) = conn.execute("SELECT decks FROM col").fetchone()
    return json.dumps(models), json.dumps({**json.loads(old_decks), **decks})


def _schema(script: str) -> tuple[str, list[str]]:
    """genanki's schema split into a script of its tables and its index statements."""
    statements = [s.strip() for s in script.split(";") if s.strip()]
    indexes = [s for s in statements if s.upper().startswith("CREATE INDEX")]
    return ";\n".join(s for s in statements if s not in indexes) + ";", indexes


def export(
    deck: Deck,
    notes: Sequence[Note],
    path: str | os.PathLike[str],
    media: Mapping[str, str | os.PathLike[str]] | None = None,
) -> PackageInfo:
    """Write *notes* into *deck* as the Anki package at *path*, replacing it only on success.

    *media* maps the file names notes refer to (``<img src="...">``) to the files to pack. A
    note whose ``mod`` is 0 is stamped with :func:`~deckforge.identity.build_time`.
    """
    return export_bundle([(deck, notes)], path, media)


def export_bundle(
    parts: Sequence[Part],
    path: str | os.PathLike[str],
    media: Mapping[str, str | os.PathLike[str]] | None = None,
) -> PackageInfo:
    """Write several decks and their notes as one Anki package at *path* (see :func:`export`)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PackageError(f"cannot write {target}: {e.strerror or e}") from None
    write_all([(target, functools.partial(write, parts=parts, beside=target, media=media))])
    notes = sum(len(notes) for _, notes in parts)
    return PackageInfo(target, notes, sum(card_count(notes) for _, notes in parts))


def write(
    f: BinaryIO,
    parts: Sequence[Part],
    beside: Path,
    *,
    media: Mapping[str, str | os.PathLike[str]] | None = None,
    progress: Progress | None = None,
    keys: Sequence[str] | None = None,
    style: Style = BUILT_IN,
) -> None:
    """Write the package of *parts* into the open file *f*, its note types in *style*: the
    collection is written to a scratch file *beside* the target and copied into a zip with the
    *media*.

    *keys* are the parts' identity keys (see ``notes.transform``; by default their decks'
    names). The zip's comment records, for each part, its key, how many notes it has and the
    :func:`~deckforge.identity.state` of their times: what ``read_built`` reads back.
    """
    media = media or {}
    names = sorted(media)  # a fixed order: the same notes and media give the same bytes
    keys = keys or [deck.name for deck, _ in parts]
    record = [
        [_key_digest(key), state((n.guid, n.mod) for n in notes), len(notes)]
        for key, (_, notes) in zip(keys, parts, strict=True)
    ]
    with scratch(beside) as database:
        try:
            write_collection(database, parts, progress, style)
        except sqlite3.Error as e:  # a full disk, for one
            raise PackageError(f"cannot write {beside}: {e}") from None
        with zipfile.ZipFile(f, "w") as zf:
            zf.comment = json.dumps({"deckforge": record}).encode("ascii")
            _add(zf, "collection.anki2", database)
            index = {str(i): name for i, name in enumerate(names)}
            with zf.open(_entry("media"), "w") as entry:
                entry.write(json.dumps(index).encode())
            for i, name in enumerate(names):
                _add(zf, str(i), Path(media[name]))


def _key_digest(key: str) -> str:
    return digest("key", key).hex()


def read_built(path: Path, key: str, known: str | None = None) -> list[Built]:
    """The notes that the package at *path* holds of the source whose identity key is *key*,
    as they were built.

    Nothing when there is no package, no part of it was built from that source, or its notes'
    :func:`~deckforge.identity.state` is *known* (the lock file's: they agree), which the zip's
    comment tells at no cost; nothing either from a package deckforge cannot read (this only
    helps to keep identity).
    """
    if not path.is_file():
        return []
    try:
        with zipfile.ZipFile(path) as zf:
            record = json.loads(zf.comment)["deckforge"]
            mine = [i for i, (part_key, _, _) in enumerate(record) if part_key == _key_digest(key)]
            if not mine or record[mine[0]][1] == known:
                return []  # no part of it is this source's, or they agree
            skip, count = sum(part[2] for part in record[: mine[0]]), record[mine[0]][2]
            with reading(zf, "collection.anki2", path) as conn:
                rows = conn.execute(
                    "SELECT guid, mid, mod, flds, tags FROM notes ORDER BY id LIMIT ? OFFSET ?",
                    (count, skip),
                ).fetchall()
    except (OSError, zipfile.BadZipFile, sqlite3.Error, KeyError, TypeError, ValueError):
        return []
    return [
        Built(guid, KINDS[mid], mod, tuple(flds.split("\x1f")), tuple(tags.split()))
        for guid, mid, mod, flds, tags in rows
        if mid in KINDS
    ]


@contextmanager
def reading(zf: zipfile.ZipFile, member: str, beside: Path) -> Iterator[sqlite3.Connection]:
    """The SQLite database *member* of the package *zf*, copied to a scratch file beside
    *beside* and open read-only for the block."""
    with scratch(beside) as database:
        with zf.open(member) as packed, database.open("wb") as f:
            shutil.copyfileobj(packed, f, 1 << 20)
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            yield conn
        finally:
            conn.close()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    # stored, as genanki stores it: deflating a large deck's database takes about as long as
    # writing it, and Anki reads either
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _add(zf: zipfile.ZipFile, name: str, source: Path) -> None:
    """Stream the file *source* into the zip as *name*, with a fixed date."""
    try:
        f = source.open("rb")
    except OSError as e:
        raise PackageError(f"cannot read {source}: {e.strerror}") from None
    with f, zf.open(_entry(name), "w", force_zip64=True) as entry:
        shutil.copyfileobj(f, entry, 1 << 20)
