"""Note identity across rebuilds: GUIDs, the lock file, and per-note modification times.

Anki matches an imported note to one it has by GUID alone, and updates it only when the
imported note's ``mod`` is strictly newer (rslib ``import_export/package/apkg/import/notes.rs``).
So a note must keep its GUID through every edit of the source, and its ``mod`` must change
exactly when its content does. The lock file (``cards.lock`` beside ``cards.toml``, meant to be
committed) remembers, for each note of the last build, its GUID, card, text, content hash and
``mod``. A rebuild matches the new notes against it:

1. cards: by explicit ``id``, then identical content, then best similarity among the locked
   cards that share a title or a bullet with it (the way git finds renamed files);
2. cloze notes: identical text in the matched card, then identical text anywhere (a bullet
   moved to another card), then best similarity in the matched card;
3. whatever is left is new and gets a GUID derived from its content and card.

Only unmatched candidates are compared by similarity, and only with cards that share a line,
so the cost stays close to linear in the size of the deck.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _quote  # C, as json.dumps uses
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from .errors import DeckforgeError, Problem, SourceError
from .notes import Note, guid_for

# Below this similarity an edited text counts as a different note (and a new GUID).
SIMILAR = 0.5


def build_time() -> int:
    """Now, in whole seconds, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return int(time.time())
    if not epoch.isascii() or not epoch.isdigit() or int(epoch[:12]) >= MAX_MOD:
        raise DeckforgeError(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970, below {MAX_MOD}, not {epoch!r}"
        )
    return int(epoch)


def content_hash(kind: str, fields: Iterable[str], tags: Iterable[str]) -> str:
    """Hash of everything Anki stores for a note: a changed hash means a changed note."""
    data = "\x1e".join((kind, "\x1f".join(fields), " ".join(tags))).encode("utf-8")
    return hashlib.blake2b(data, digest_size=12).hexdigest()


# -- the lock file --------------------------------------------------------------------------


# Times are whole seconds; anything from year 5138 on is a corrupt lock or a wrong setting.
MAX_MOD = 10**11


class LockedNote(NamedTuple):
    """One note of the last build, as the lock file remembers it."""

    guid: str
    kind: Literal["qa", "cloze"]
    card: str  # GUID of the card's question/answer note: the card's identity
    text: str
    hash: str
    mod: Annotated[int, Field(ge=0, lt=MAX_MOD)]
    id: str | None = None  # the card's explicit id, on question/answer notes

    @property
    def title(self) -> str:
        return self.text.split("\n", 1)[0]


@dataclass(frozen=True, slots=True)
class Lock:
    """The lock file: which GUID and ``mod`` each note of the last build has."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    deck: str
    notes: tuple[LockedNote, ...] = ()
    version: Literal[1] = 1


def lock_path(source: str | os.PathLike[str]) -> Path:
    """``cards.lock`` for ``cards.toml``: the lock file lives beside its source."""
    return Path(source).with_suffix(".lock")


def read_lock(path: str | os.PathLike[str]) -> Lock | None:
    """The lock file at *path*, or None when there is none yet."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SourceError([Problem(name, 0, 0, "", f"cannot read lock file: {e}")]) from None
    hint = "; delete it to match notes by their content alone"
    try:
        # straight from JSON to the lock's tuples, with no dictionaries in between
        return _lock_adapter().validate_json(text)
    except ValidationError as e:
        err = e.errors()[0]
        if err["type"] == "json_invalid":  # let the json module say where
            try:
                json.loads(text.decode("utf-8", "replace"))
            except json.JSONDecodeError as bad:
                msg = f"not a deckforge lock file: {bad.msg}{hint}"
                raise SourceError([Problem(name, bad.lineno, bad.colno, "", msg)]) from None
            except (RecursionError, ValueError):  # absurdly nested, or huge numbers
                pass
        where = ".".join(map(str, err["loc"]))
        msg = f"not a deckforge lock file: {where + ': ' if where else ''}{err['msg']}{hint}"
        raise SourceError([Problem(name, 0, 0, "", msg)]) from None


@functools.cache
def _lock_adapter() -> TypeAdapter[Lock]:
    return TypeAdapter(Lock)  # built on first use: `check` never reads a lock


def dump_lock(lock: Lock) -> Iterator[str]:
    """The lock as JSON, in pieces, one note per line so that version control shows edits
    note by note."""
    yield f'{{"version": {lock.version}, "deck": {_quote(lock.deck)}, "notes": ['
    start = "\n"
    for n in lock.notes:
        # what json.dumps(..., ensure_ascii=False) writes for the note as a dictionary
        card_id = "" if n.id is None else f', "id": {_quote(n.id)}'
        yield (
            f'{start}{{"guid": {_quote(n.guid)}, "kind": {_quote(n.kind)}, '
            f'"card": {_quote(n.card)}, "text": {_quote(n.text)}, "hash": {_quote(n.hash)}, '
            f'"mod": {n.mod}{card_id}}}'
        )
        start = ",\n"
    yield "\n]}\n"


# -- matching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Update:
    """A note whose content changed: what the lock had, and the note that replaces it."""

    old: LockedNote
    new: Note


@dataclass(frozen=True)
class Changes:
    """What importing the new build will do in Anki, note by note."""

    notes: tuple[Note, ...]  # the new build's, with their GUIDs and times
    added: tuple[Note, ...]
    updated: tuple[Update, ...]
    unchanged: int
    removed: tuple[LockedNote, ...]
    lock: Lock  # the lock file for the new build

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{self.unchanged} unchanged, {len(self.removed)} removed"
        )

    def title(self, note: Note | LockedNote) -> str:
        """The title of the card *note* belongs to."""
        return self._titles.get(note.guid, "")

    @functools.cached_property
    def _titles(self) -> dict[str, str]:
        notes = (*self.lock.notes, *self.removed)
        cards = {n.card: n.title for n in notes if n.kind == "qa"}
        return {n.guid: cards.get(n.card, "") for n in notes}

    def removed_search(self) -> str:
        """An Anki browser search that finds the removed notes (an import cannot delete them).

        Each note is found by the words of its fields in order (``*`` between them), so the
        search does not depend on how the text was escaped or marked up.
        """
        terms = []
        for note in self.removed:
            if note.kind == "cloze":
                terms.append(f'"Text:{_words(note.text)}"')
            else:
                # the title and first bullet: enough to tell the card from any other
                title, first = [*note.text.split("\n"), ""][:2]
                terms.append(f'("Topic:{_words(title)}" "Facts:{_words(first)}")')
        deck = re.sub(r'([\\"*_])', r"\\\1", self.lock.deck)
        return f'"deck:{deck}" ({" OR ".join(terms)})'


def _words(text: str) -> str:
    """``*1926*treaty*of*berlin*``: matches a field holding these words in this order."""
    return "*" + "*".join(re.findall(r"[^\W_]+", text)) + "*"


def _similarity(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()


_COMMON = 20  # a line in more locked cards than this does not suggest candidates


_WORDS = re.compile(r"\w+")


def _loose(line: str) -> str:
    """A line as a key that ignores case, punctuation and spacing."""
    return " ".join(_WORDS.findall(line.casefold()))


def _lines_in_any_order(text: str) -> str:
    # A card is the same card whatever the order of its bullets.
    return "\n".join(sorted(text.split("\n")))


class _Matcher:
    """Pairs the notes of a new build with the notes in the lock, step by step."""

    def __init__(self, notes: Sequence[Note], locked: Sequence[LockedNote]) -> None:
        self.notes = notes
        self.guids: dict[int, str] = {}  # note index -> GUID of the locked note it continues
        self.taken: set[str] = set()  # the values of self.guids
        self.card_of: dict[int, str] = {}  # card index -> GUID of its locked card
        self.old_qa = {n.guid: n for n in locked if n.kind == "qa"}
        self.old_clozes: dict[str, list[LockedNote]] = defaultdict(list)  # by card
        for old in locked:
            if old.kind == "cloze":
                self.old_clozes[old.card].append(old)
        self.qa = [i for i, n in enumerate(notes) if n.kind == "qa"]
        self.clozes = [i for i, n in enumerate(notes) if n.kind == "cloze"]

    def take(self, index: int, old: LockedNote) -> None:
        self.guids[index] = old.guid
        self.taken.add(old.guid)
        if old.kind == "qa":
            self.card_of[self.notes[index].card] = old.guid
            del self.old_qa[old.guid]

    def free(self, index: int, old: LockedNote) -> bool:
        return index not in self.guids and old.guid not in self.taken

    def cards_by_id(self, card_ids: Sequence[str | None]) -> None:
        by_id = {n.id: n for n in self.old_qa.values() if n.id is not None}
        for i in self.qa:
            card_id = card_ids[self.notes[i].card]
            if card_id is not None and card_id in by_id:
                self.take(i, by_id.pop(card_id))

    def same_text(
        self, indexes: Iterable[int], pool: Iterable[LockedNote], *, same_card: bool = False
    ) -> None:
        """Match notes to free locked notes with the same text (and card, if *same_card*)."""
        by_key: dict[tuple[str, str], list[LockedNote]] = defaultdict(list)
        for old in pool:
            if old.guid not in self.taken:  # only what an earlier step left
                by_key[old.card if same_card else "", old.text].append(old)
        for i in indexes:
            if i in self.guids:
                continue
            note = self.notes[i]
            card = self.card_of.get(note.card, "") if same_card else ""
            for old in by_key.get((card, note.text), ()):
                if self.free(i, old):
                    self.take(i, old)
                    break

    def similar(
        self, candidates: Iterable[tuple[int, LockedNote]], key: Callable[[str], str] = str
    ) -> None:
        """Best-first: the most similar pair is matched first, then the next free one.

        *key* turns a text into what is compared.
        """
        scored = sorted(
            (
                (score, -i, old.guid, old)
                for i, old in candidates
                if (score := _similarity(key(self.notes[i].text), key(old.text))) >= SIMILAR
            ),
            key=lambda t: t[:3],
            reverse=True,
        )
        for _, neg_i, _, old in scored:
            if self.free(-neg_i, old):
                self.take(-neg_i, old)

    def similar_cards(self) -> None:
        # Only cards that share a title or a bullet are compared (in any case and spacing, so
        # that a find-and-replace across the deck still pairs them), and a line shared by many
        # cards is no evidence: near-linear, not quadratic, however large the deck.
        if not self.old_qa:  # no locked card left to pair with
            return
        by_line: dict[str, list[LockedNote]] = defaultdict(list)
        for old in self.old_qa.values():
            for line in {_loose(line) for line in old.text.split("\n")}:
                by_line[line].append(old)
        by_line = defaultdict(list, {k: v for k, v in by_line.items() if len(v) <= _COMMON})
        candidates = (
            (i, old)
            for i in self.qa
            if i not in self.guids
            for old in {
                o.guid: o for line in self.notes[i].text.split("\n") for o in by_line[_loose(line)]
            }.values()
        )
        self.similar(candidates, key=_lines_in_any_order)

    def in_card(self, i: int) -> list[LockedNote]:
        return self.old_clozes.get(self.card_of.get(self.notes[i].card, ""), [])

    def match(self, card_ids: Sequence[str | None]) -> dict[int, str]:
        self.cards_by_id(card_ids)
        self.same_text(self.qa, list(self.old_qa.values()))
        self.similar_cards()
        old_clozes = [o for olds in self.old_clozes.values() for o in olds]
        self.same_text(self.clozes, old_clozes, same_card=True)
        self.same_text(self.clozes, old_clozes)  # a bullet moved to another card
        self.similar(
            (i, old) for i in self.clozes if i not in self.guids for old in self.in_card(i)
        )
        return self.guids


def reconcile(
    notes: Sequence[Note], lock: Lock | None, deck: str, now: int, card_ids: Sequence[str | None]
) -> Changes:
    """Give *notes* the GUIDs and ``mod`` times that make a re-import update them in place.

    *card_ids* are the cards' explicit ids, by card index; *now* stamps new and changed notes.
    """
    locked = lock.notes if lock else ()
    by_guid = {n.guid: n for n in locked}
    guids = _Matcher(notes, locked).match(card_ids)
    taken = set(by_guid)  # every matched GUID comes from the lock
    out: list[Note] = []
    entries: list[LockedNote] = []
    added: list[Note] = []
    updated: list[Update] = []
    card_guid: dict[int, str] = {}
    for i, note in enumerate(notes):
        digest = content_hash(note.kind, note.fields, note.tags)
        old = by_guid[guids[i]] if i in guids else None
        if old is None:
            # New: its content-derived GUID, unless a note (even a removed one) has it.
            guid, salt = note.guid, 0
            while guid in taken:
                salt += 1
                guid = guid_for(note.guid, str(salt))
            taken.add(guid)
            new = note.stamped(guid, now)
            added.append(new)
        elif old.hash == digest:
            new = note.stamped(old.guid, old.mod)
        else:
            # Strictly newer than what Anki has, even when rebuilt within the same second.
            new = note.stamped(old.guid, max(now, old.mod + 1))
            updated.append(Update(old, new))
        out.append(new)
        if note.kind == "qa":  # the first note of every card
            card_guid[note.card] = new.guid
        card_id = card_ids[new.card] if new.kind == "qa" else None
        # guid, kind, card, text, hash, mod, id (positional: this runs for every note)
        entries.append(
            LockedNote(new.guid, new.kind, card_guid[note.card], new.text, digest, new.mod, card_id)
        )
    current = {n.guid for n in out}
    removed = tuple(n for n in locked if n.guid not in current)
    unchanged = len(out) - len(added) - len(updated)
    lock = Lock(deck=deck, notes=tuple(entries))
    return Changes(tuple(out), tuple(added), tuple(updated), unchanged, removed, lock)
