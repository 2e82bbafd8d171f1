"""Write notes as an Anki package (``.apkg``) through genanki, atomically and reproducibly.

genanki builds the collection (note types, deck, notes, cards) in an in-memory SQLite database;
this module then stamps each note's own modification time, and writes the zip itself: with fixed
entry dates and order (so the same notes give the same bytes), to a temporary file in the target
folder that replaces the target only once complete (genanki's ``write_to_file`` writes in place
and leaves its temporary database behind).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PackageError
from .identity import build_time, deck_id_for
from .notes import CLOZE_FIELDS, QA_FIELDS, Note
from .schema import Deck

# Anki matches note types by id, and their schema by field and template names: both are fixed.
QA_MODEL_ID = 1_502_873_661
CLOZE_MODEL_ID = 1_502_873_662
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


@dataclass(frozen=True)
class PackageInfo:
    """What was written: the package's path and how many notes and cards it holds."""

    path: Path
    notes: int
    cards: int


def _models() -> dict[str, Any]:
    import genanki

    return {
        "qa": genanki.Model(
            QA_MODEL_ID,
            "deckforge Q/A",
            fields=[{"name": name} for name in QA_FIELDS],
            templates=[{"name": "Q/A", "qfmt": _QA_FRONT, "afmt": _QA_BACK}],
            css=CSS,
        ),
        "cloze": genanki.Model(
            CLOZE_MODEL_ID,
            "deckforge Cloze",
            fields=[{"name": name} for name in CLOZE_FIELDS],
            templates=[{"name": "Cloze", "qfmt": _CLOZE_FRONT, "afmt": _CLOZE_BACK}],
            css=CSS,
            model_type=genanki.Model.CLOZE,
        ),
    }


Part = tuple[Deck, Sequence[Note]]  # a deck and its notes
Progress = Callable[[int, int], None]  # (notes written, notes in all)


def collection_bytes(parts: Sequence[Part], progress: Progress | None = None) -> tuple[bytes, int]:
    """The package's SQLite database holding every deck of *parts*, and how many cards it has.

    *progress* is called after each note with the number of notes written and the total.
    """
    import genanki

    notes = [note for _, deck_notes in parts for note in deck_notes]
    guids = set()
    for note in notes:
        if note.kind == "cloze" and "{{c" not in note.fields[0]:
            # genanki would write such a note with no card at all, silently.
            raise PackageError(f"cloze note {note.guid!r} has no deletion: {note.text!r}")
        if note.guid in guids:
            raise PackageError(f"two notes have the GUID {note.guid!r}: {note.text!r}")
        guids.add(note.guid)

    written = itertools.count(1)

    class _Note(genanki.Note):  # type: ignore[misc]
        def write_to_db(self, *args: Any) -> None:
            super().write_to_db(*args)
            if progress is not None:
                progress(next(written), len(notes))

    models = _models()
    decks = []
    for deck, deck_notes in parts:
        gdeck = genanki.Deck(deck_id_for(deck.name), deck.name, deck.description)
        for position, note in enumerate(deck_notes):
            gdeck.add_note(
                _Note(
                    model=models[note.kind],
                    fields=list(note.fields),
                    tags=list(note.tags),
                    guid=note.guid,
                    due=position,
                )
            )
        decks.append(gdeck)
    now = build_time()
    conn = sqlite3.connect(":memory:")
    try:
        cursor = conn.cursor()
        genanki.Package(decks).write_to_db(cursor, MODELS_MOD, itertools.count(MODELS_MOD * 1000))
        # genanki stamps one time on everything; Anki updates a note only when its mod is
        # newer, so each note carries its own (see identity.py).
        cursor.execute("CREATE TEMP TABLE mods (guid TEXT PRIMARY KEY, mod INTEGER)")
        cursor.executemany(
            "INSERT INTO mods VALUES (?, ?)", ((n.guid, n.mod or now) for n in notes)
        )
        cursor.execute("UPDATE notes SET mod = (SELECT mod FROM mods WHERE guid = notes.guid)")
        cursor.execute("UPDATE cards SET mod = (SELECT mod FROM notes WHERE id = cards.nid)")
        cursor.execute("DROP TABLE mods")
        (cards,) = cursor.execute("SELECT count(*) FROM cards").fetchone()
        conn.commit()
        return conn.serialize(), cards
    finally:
        conn.close()


def export(
    deck: Deck,
    notes: Sequence[Note],
    path: str | os.PathLike[str],
    media: Mapping[str, str | os.PathLike[str]] | None = None,
) -> PackageInfo:
    """Write *notes* into *deck* as the Anki package at *path*, replacing it only on success.

    *media* maps the file names notes refer to (``<img src="...">``) to the files to pack. A
    note whose ``mod`` is 0 is stamped with :func:`build_time`.
    """
    return export_bundle([(deck, notes)], path, media)


def export_bundle(
    parts: Sequence[Part],
    path: str | os.PathLike[str],
    media: Mapping[str, str | os.PathLike[str]] | None = None,
    progress: Progress | None = None,
) -> PackageInfo:
    """Write several decks and their notes as one Anki package at *path* (see :func:`export`)."""
    target, files = Path(path), dict(media or {})
    collection, cards = collection_bytes(parts, progress)
    names = sorted(files)  # a fixed order: the same notes and media give the same bytes
    index = {str(i): name for i, name in enumerate(names)}
    entries = [("collection.anki2", collection), ("media", json.dumps(index).encode())]
    for i, name in enumerate(names):
        try:
            entries.append((str(i), Path(files[name]).read_bytes()))
        except OSError as e:
            raise PackageError(f"cannot read {files[name]}: {e.strerror}") from None
    write_zip(target, entries)
    return PackageInfo(target, sum(len(n) for _, n in parts), cards)


def write_zip(target: Path, entries: Sequence[tuple[str, bytes]]) -> None:
    """Write a zip of *entries* to *target* atomically, with fixed dates and order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=1)
    write_atomic(target, buffer.getbuffer())


def write_atomic(target: Path, data: bytes | memoryview) -> None:
    """Replace *target* with *data* all at once: a reader (or a crash) sees old or new, never half.

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over
    the target.
    """
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise PackageError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
