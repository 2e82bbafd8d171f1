"""Note identity across rebuilds: the lock file, matching notes with it, and modification times.

Anki matches an imported note to one it has by GUID alone, and updates it only when the
imported note's ``mod`` is strictly newer (rslib ``import_export/package/apkg/import/notes.rs``);
a cloze note's cards are its deletion numbers, ``c2`` being its second card, with its own
review history. So through every edit of the source a note keeps its GUID, each deletion keeps
its number, and a note's ``mod`` changes exactly when its content does, to a time later than
any it had before.

The lock file (``cards.lock`` beside ``cards.toml``, meant to be committed) remembers each note
of the last build: its GUID, card, text, content hash, ``mod`` and deletions. A rebuild matches
the new notes with it:

1. cards by explicit ``id``; then any note by the GUID its content derives and the same text
   (most notes of most builds);
2. cards: by identical content, then identical bullets under a new title, then the most
   similar card among those that share a line with it (the same lines in another order are
   the same card; one that keeps a bullet is similar enough), then among those that share its
   rarest words (a typo fixed in the title and the only bullet, a word replaced everywhere);
3. cloze notes: identical text in the matched card, then identical text anywhere (a bullet
   moved to another card), then the most similar text in the matched card;
4. what is left is new, with a GUID derived from its content (see :func:`notes.transform`).

Similarity is Dice's coefficient (twice the parts two texts share, over the parts of both) of
their lines (a card's title and bullets) or their words: cheap enough to score every candidate
pair, and candidates come from indexes, never from all pairs, so matching stays close to
linear in the size of the deck whatever the edit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from json.encoder import encode_basestring as _quote  # C, as json.dumps uses
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import Field, TypeAdapter, ValidationError

from .cloze import escape
from .errors import DeckforgeError, Problem, SourceError
from .notes import Note, NoteKind, cloze_field, digest, facts_field, guid_for, read_fields
from .schema import Kind, Source
from .words import plural

# Below this similarity an edited text counts as a different note (and a new GUID).
SIMILAR = 0.5
# Times are whole seconds. Anything from the year 2286 on is a wrong setting, and from 5138 on
# a corrupt lock: a time may grow by a second per build past the clock, and stay far below.
MAX_EPOCH = 10**10
MAX_MOD = 10**11


def build_time() -> int:
    """Now, in whole seconds, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return int(time.time())
    if not epoch.isascii() or not epoch.isdigit() or int(epoch[:12]) >= MAX_EPOCH:
        raise DeckforgeError(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970, below {MAX_EPOCH}, not {epoch!r}"
        )
    return int(epoch)


def content_hash(kind: str, fields: Iterable[str], tags: Iterable[str], style: str = "") -> str:
    """Hash of everything Anki stores for a note: a changed hash means a changed note. *style*
    (the hash of a deck's own CSS, "" for deckforge's) is part of how it shows: a note of a
    restyled deck is newer, so that an import puts the new style in place."""
    parts = (kind, "\x1f".join(fields), " ".join(tags), *((style,) if style else ()))
    data = "\x1e".join(parts).encode("utf-8")
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def fields_hash(fields: Iterable[str]) -> str:
    """Hash of a note's fields alone: whether they were edited in Anki since deckforge wrote
    them (the tags may have been, by the student's own: those are theirs)."""
    return digest(*fields).hex()


# -- the lock file --------------------------------------------------------------------------

VERSION = 2


# text, number (c1 to c9999: far more than a bullet holds), kind
Deletion = tuple[str, Annotated[int, Field(ge=1, le=9999)], Kind | Literal[""]]


class LockedNote(NamedTuple):
    """One note of the last build, as the lock file remembers it."""

    guid: str
    kind: NoteKind
    card: str  # GUID of the card's question/answer note: the card's identity
    hash: str
    mod: Annotated[int, Field(ge=0, lt=MAX_MOD)]
    text: str
    id: str | None = None  # the card's explicit id, on question/answer notes
    # A cloze note's deletions, in its text. A deletion's number stays its own through edits,
    # and is the card in Anki that asks for it (with ``single``, every deletion is on the card
    # of the lowest number). Deletions that went keep theirs in ``gone``, to have it back if
    # they return; ``last`` is the highest number the note ever gave, which no new one takes.
    cloze: tuple[Deletion, ...] = ()
    gone: tuple[Deletion, ...] = ()
    last: Annotated[int, Field(ge=0)] = 0
    single: bool = False
    removed: bool = False  # no longer in the source: remembered, to know it if it comes back
    fields: str = ""  # fields_hash of what deckforge wrote ("": not known)

    @property
    def title(self) -> str:
        return self.text.split("\n", 1)[0]

    @property
    def cards(self) -> set[int]:
        """The numbers of the cards that ask for a cloze note's deletions."""
        numbers = {number for _, number, _ in self.cloze}
        return {min(numbers)} if self.single and numbers else numbers


@dataclass(frozen=True)
class Lock:
    """The lock file: the identity and time of each note of the last build.

    ``key`` is what the GUIDs of new notes derive from, set when the lock is first written:
    it stays when the deck is renamed. ``merged`` counts the git conflicts in the file that
    were resolved as it was read (both sides kept).
    """

    deck: str
    key: str
    notes: tuple[LockedNote, ...] = ()
    merged: int = 0
    style: tuple[str, int] | None = None  # a deck's own CSS: its hash, and when it changed


def lock_path(source: str | os.PathLike[str]) -> Path:
    """``cards.lock`` for ``cards.toml``: the lock file lives beside its source."""
    return Path(source).with_suffix(".lock")


def default_key(deck: str, source: str | os.PathLike[str]) -> str:
    """The key of a deck's first lock: its name and its file's, so that two files of one deck
    name (``week1.toml`` and ``week2.toml``, both "History") never share a GUID. The file's
    name is read as UTF-8 from its bytes: the same key whatever the locale decoded it as."""
    stem = os.fsencode(Path(source).stem).decode("utf-8", "replace")
    return f"{deck}/{stem}"


_NOTES = TypeAdapter(list[LockedNote])
_CONFLICT = ("<<<<<<<", "|||||||", "=======", ">>>>>>>")


def read_lock(path: str | os.PathLike[str]) -> Lock | None:
    """The lock file at *path*, or None when there is none yet.

    The file holds a line of JSON per note, after a line that names the deck. It is read line
    by line, so that a file git left with conflict markers after a merge reads as both sides
    together (a note on both: its newer time); a lock of version 1 reads as well.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SourceError([Problem(name, 0, 0, "", f"cannot read lock file: {e}")]) from None
    header, lines, linenos, merged = _lines_of(raw, name)
    version = header.get("deckforge", header.get("version"))
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _not_a_lock(name, 1, 1, "its first line must give its version")
    if version > VERSION:
        msg = f"was written by a newer deckforge (lock version {version}); upgrade deckforge"
        raise SourceError([Problem(name, 0, 0, "", msg)])
    deck, key = header.get("deck"), header.get("key")
    if not isinstance(deck, str) or not isinstance(key, str | None):
        raise _not_a_lock(name, 1, 1, "its first line must name the deck")
    try:
        data = json.loads("[" + ",".join(lines) + "]")
    except (json.JSONDecodeError, RecursionError, ValueError):
        for line, lineno in zip(lines, linenos, strict=True):  # which line is it?
            try:
                json.loads(line)
            except (json.JSONDecodeError, RecursionError, ValueError) as bad:
                colno, msg = getattr(bad, "colno", 1), getattr(bad, "msg", str(bad))
                raise _not_a_lock(name, lineno, colno, msg) from None
        raise _not_a_lock(name, 1, 1, "not JSON") from None
    try:
        notes = _NOTES.validate_python(data)
    except ValidationError as e:
        err = e.errors()[0]
        index, *where = err["loc"] or (0,)
        at = linenos[index] if isinstance(index, int) and index < len(linenos) else 1
        place = ".".join(map(str, where))
        raise _not_a_lock(name, at, 1, f"{place + ': ' if place else ''}{err['msg']}") from None
    by_guid: dict[str, LockedNote] = {}
    for note in notes:  # a note on both sides of a conflict: both, as one
        other = by_guid.get(note.guid)
        by_guid[note.guid] = note if other is None else _merge(note, other)
    style = header.get("style")
    valid = isinstance(style, list) and len(style) == 2 and isinstance(style[0], str)
    styled = (style[0], style[1]) if valid and isinstance(style[1], int) else None  # type: ignore[index]
    return Lock(deck, key or default_key(deck, name), tuple(by_guid.values()), merged, styled)


def _style_hash(css: str) -> str:
    """The hash of a deck's own CSS as the lock keeps it; "" for none."""
    return digest("style", css).hex() if css else ""


def _styled(lock: Lock | None, style: str, now: int) -> tuple[str, int] | None:
    """The lock's record of a deck's own CSS (hashed as *style*, "" for none): its hash, and
    when it last changed, the ``mod`` of the note types in Anki."""
    if not style:
        return None
    before = lock.style if lock else None
    if before and before[0] == style:
        return before
    return style, max(now, before[1] + 1) if before else now


def _merge(a: LockedNote, b: LockedNote) -> LockedNote:
    """One note as two sides of a git conflict have it: the newer side, with the deletion
    numbers of both (a number one side gave must not be given again)."""
    new, old = (a, b) if (a.mod, a.hash) >= (b.mod, b.hash) else (b, a)
    gone = _gone(new.cloze, old.gone, old.cloze, new.gone)
    return new._replace(gone=gone, last=max(a.last, b.last))


def _gone(kept: Iterable[Deletion], *went: Iterable[Deletion]) -> tuple[Deletion, ...]:
    """The deletions of *went* whose numbers no deletion *kept* has, once each."""
    numbers = {number for _, number, _ in kept}
    gone = {d[1]: d for deletions in went for d in deletions if d[1] not in numbers}
    return tuple(sorted(gone.values()))


def _lines_of(raw: bytes, name: str) -> tuple[dict[str, object], list[str], list[int], int]:
    """A lock file's header, its notes' lines and their line numbers, and how many git
    conflicts it holds (whose markers are left out)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_a_lock(name, raw[: e.start].count(b"\n") + 1, 1, "invalid UTF-8") from None
    header: object = None
    lines: list[str] = []
    linenos: list[int] = []
    merged = 0
    for lineno, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.strip().removesuffix(",")
        if not line or line == "]}":  # version 1 closes its list of notes
            continue
        if line.startswith(_CONFLICT):
            merged += line.startswith(_CONFLICT[0])
        elif header is None:
            try:
                # version 1 opens its list of notes on this line
                header = json.loads(line + "]}" if line.endswith("[") else line)
            except (json.JSONDecodeError, RecursionError, ValueError) as e:
                colno, msg = getattr(e, "colno", 1), getattr(e, "msg", str(e))
                raise _not_a_lock(name, lineno, colno, msg) from None
        elif not line.startswith(('{"deckforge"', '{"version"')):  # a header's other side
            lines.append(line)
            linenos.append(lineno)
    if not isinstance(header, dict):
        raise _not_a_lock(name, 1, 1, "it does not start with a line naming its deck")
    return header, lines, linenos, merged


def _not_a_lock(name: str, lineno: int, colno: int, msg: str) -> SourceError:
    msg = (
        f"not a deckforge lock file: {msg}; restore it from git (git checkout -- {name}), "
        "or move it aside: the next build rebuilds it from the package it built last"
    )
    return SourceError([Problem(name, lineno, colno, "", msg)])


def dump_lock(lock: Lock) -> Iterator[str]:
    """The lock file, in pieces: a line naming the deck, then a line per note, in the order of
    their GUIDs (edits to different notes on two branches of a repository seldom touch
    neighbouring lines, so git merges them)."""
    style = f', "style": [{_quote(lock.style[0])}, {lock.style[1]}]' if lock.style else ""
    yield (
        f'{{"deckforge": {VERSION}, "deck": {_quote(lock.deck)}, "key": {_quote(lock.key)}'
        f"{style}}}\n"
    )
    for n in sorted(lock.notes):  # by GUID, their first field: no two are the same
        # what json.dumps(..., ensure_ascii=False) writes, field by field
        line = (
            f'{{"guid": {_quote(n.guid)}, "kind": "{n.kind}", "card": {_quote(n.card)}, '
            f'"hash": {_quote(n.hash)}, "mod": {n.mod}'
        )
        if n.id is not None:
            line += f', "id": {_quote(n.id)}'
        if n.kind == "cloze":
            line += f', "cloze": {_deletions(n.cloze)}, "last": {n.last}'
            if n.gone:
                line += f', "gone": {_deletions(n.gone)}'
            if n.single:
                line += ', "single": true'
        if n.removed:
            line += ', "removed": true'
        if n.fields:
            line += f', "fields": {_quote(n.fields)}'
        yield f'{line}, "text": {_quote(n.text)}}}\n'


def _deletions(deletions: Iterable[Deletion]) -> str:
    return f"[{', '.join(f'[{_quote(t)}, {n}, {_quote(k)}]' for t, n, k in deletions)}]"


def state(notes: Iterable[tuple[str, int]]) -> str:
    """A digest of notes' GUIDs and times: a package and a lock file in the same state agree
    on every note (see ``package.read_built``)."""
    lines = "\n".join(f"{guid} {mod}" for guid, mod in sorted(notes))
    return hashlib.blake2b(lines.encode("utf-8"), digest_size=12).hexdigest()


class Built(NamedTuple):
    """A note as the last package built holds it (see ``package.read_built``)."""

    guid: str
    kind: NoteKind
    mod: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]


def recover(lock: Lock | None, built: Sequence[Built], deck: str, key: str) -> Lock | None:
    """The lock as the last package built from the same source (*built*) shows it should be.

    Where the package holds a note newer than the lock does, or one the lock lacks or has as
    removed, the lock went back in time (a revert, an older branch, a restored backup) or lost
    lines: the package's is the note Anki has, and takes the lock's place. With no lock at all, the
    package's notes are the lock.
    """
    if not built:
        return lock
    old = {n.guid: n for n in lock.notes} if lock else {}
    chosen = [b for b in built if (n := old.get(b.guid)) is None or b.mod > n.mod or n.removed]
    if not chosen:
        return lock
    # a recovered cloze note belongs to the card of its title (its Topic field) with its text
    cards: dict[tuple[str, str], str] = {}
    for b in built:
        if b.kind == "qa":
            lines = read_fields("qa", b.fields)[0].split("\n")[1:]
            cards.update({(b.fields[0], line): b.guid for line in lines})
    recovered = dict(old)
    for b in chosen:
        text, marked = read_fields(b.kind, b.fields)
        was = old.get(b.guid) or LockedNote(b.guid, b.kind, b.guid, "", 0, "")
        kinds = {t: k for t, _, k in was.cloze}
        deletions = tuple((t, n, kinds.get(t, "")) for t, n in marked)
        card = was.card
        if b.kind == "cloze" and b.guid not in old:
            card = cards.get((b.fields[1], text), "")
        numbers = [n for _, n, _ in deletions]
        recovered[b.guid] = was._replace(
            card=card,
            hash=content_hash(b.kind, b.fields, b.tags),
            fields=fields_hash(b.fields),
            mod=b.mod,
            text=text,
            cloze=deletions,
            gone=_gone(deletions, was.gone, was.cloze),
            last=max([was.last, *numbers]),
            single=len(set(numbers)) < len(numbers),
            removed=False,  # the package holds it: Anki has it
        )
    if lock is None:
        return Lock(deck, key, tuple(recovered.values()))
    return Lock(lock.deck, lock.key, tuple(recovered.values()), lock.merged)


# -- what a build changes -------------------------------------------------------------------


@dataclass(frozen=True)
class Update:
    """A note whose content changed: what the lock had, and the note that replaces it."""

    old: LockedNote
    new: Note


@dataclass(frozen=True)
class Changes:
    """What importing the new build will do in Anki, note by note."""

    notes: tuple[Note, ...]  # the new build's, with their GUIDs, times and deletion numbers
    added: tuple[Note, ...]
    updated: tuple[Update, ...]
    unchanged: int
    removed: tuple[LockedNote, ...]
    lock: Lock  # the lock file for the new build
    # cloze notes that lost deletions: the numbers of their cards left empty in Anki
    emptied: tuple[tuple[Note, tuple[int, ...]], ...] = ()
    renamed: str | None = None  # the deck's name in the lock, when the source renamed it
    merged: int = 0  # git conflicts resolved in the lock file
    before: Lock | None = None  # the lock the notes were matched with
    css: str = ""  # the deck's own CSS, hashed in the lock ("": deckforge's, never restyled)

    def summary(self) -> str:
        line = (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{self.unchanged} unchanged, {len(self.removed)} removed"
        )
        if self.emptied:
            count = sum(len(numbers) for _, numbers in self.emptied)
            line += f", {plural(count, 'card')} left empty"
        return line

    @property
    def restyled(self) -> bool:
        """Whether the deck's own CSS changed since the lock the notes were matched with."""
        return self.before is not None and self.lock.style != self.before.style

    def advice(self) -> list[str]:
        """What to do in Anki after importing this build, beyond the import itself."""
        said = []
        if self.restyled:
            said.append(
                "The deck's style ([style]) changed: every note is updated, so that the import "
                "takes the note types' new CSS into Anki with them."
            )
        if self.merged:
            said.append(
                f"The lock file held {plural(self.merged, 'git conflict')}: both sides are kept,"
                " and a build writes it whole again."
            )
        if self.renamed:
            said.append(
                f"The deck was renamed from {self.renamed!r} to {self.lock.deck!r}. An import "
                "never moves cards between decks: before importing, rename the deck in Anki "
                f"(in the deck list, the gear beside {self.renamed!r}, then Rename) to "
                f"{self.lock.deck!r}, and every note keeps its place and its history."
            )
        if self.removed:
            one = len(self.removed) == 1
            said.append(
                f"{plural(len(self.removed), 'note')} {'is' if one else 'are'} no longer in the "
                f"source. Anki keeps {'it' if one else 'them'} (an import cannot delete notes); "
                f"to find and delete {'it' if one else 'them'}, search in Anki's browser for:\n"
                f"  {self.removed_search()}"
            )
        if self.emptied:
            count = sum(len(numbers) for _, numbers in self.emptied)
            said.append(
                f"{plural(count, 'card')} of cloze notes whose deletion is gone will be empty in "
                "Anki (Anki keeps a card until it is deleted): after importing, choose Tools → "
                "Empty Cards in Anki and delete them."
            )
        return said

    def title(self, note: Note | LockedNote) -> str:
        """The title of the card *note* belongs to."""
        return self._titles.get(note.guid, "")

    @functools.cached_property
    def _titles(self) -> dict[str, str]:
        notes = (*self.lock.notes, *self.removed)
        cards = {n.card: n.title for n in notes if n.kind == "qa"}
        return {n.guid: cards.get(n.card, "") for n in notes}

    def removed_search(self) -> str:
        """An Anki browser search that finds the removed notes (an import cannot delete them):
        each by its fields exactly as deckforge last built them, in its deck, so that it finds
        no other note (and none that was edited in Anki since)."""
        terms = []
        for note in self.removed:
            if note.kind == "cloze":
                cards = [min(note.cards)] * len(note.cloze) if note.single else None
                field = cloze_field(
                    note.text, [t for t, _, _ in note.cloze], cards or [n for _, n, _ in note.cloze]
                )
                title = _search_quote(escape(self.title(note)))
                terms.append(f'("Text:{_search_quote(field)}" "Topic:{title}")')
            else:
                title, *bullets = note.text.split("\n")
                facts = _search_quote(facts_field([escape(bullet) for bullet in bullets]))
                topic = _search_quote(escape(title))
                terms.append(f'("Topic:{topic}" "Facts:{facts}")')
        decks = [f'"deck:{_search_quote(d)}"' for d in (self.renamed, self.lock.deck) if d]
        where = decks[0] if len(decks) == 1 else f"({' OR '.join(decks)})"
        return f"{where} ({' OR '.join(terms)})"


def _search_quote(text: str) -> str:
    """*text* as Anki's search reads it literally."""
    return re.sub(r'([\\"*_])', r"\\\1", text)


# -- matching -------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_COMMON = 20  # a line in more cards than this suggests no pairs
_BEST = 3  # and scores no more partners than this


def _dice(x: frozenset[str], y: frozenset[str]) -> float:
    return 2 * len(x & y) / (len(x) + len(y)) if x or y else 1.0


class _Matcher:
    """Pairs the notes of a new build with the notes in the lock, step by step."""

    def __init__(
        self,
        notes: Sequence[Note],
        locked: Sequence[LockedNote],
        found: dict[int, LockedNote] | None = None,
    ) -> None:
        """*found*: pairs made already (by a matcher of other locked notes), kept."""
        self.notes = notes
        self.found: dict[int, LockedNote] = {}  # note index -> the locked note it continues
        self.taken: set[str] = set()  # their GUIDs
        self.card_of: dict[int, str] = {}  # card index -> GUID of its locked card
        for i, old in (found or {}).items():
            self.take(i, old)
        self.old_cards = [n for n in locked if n.kind == "qa"]
        self.old_clozes = [n for n in locked if n.kind == "cloze"]
        self.cards = [i for i, n in enumerate(notes) if n.kind == "qa"]
        self.clozes = [i for i, n in enumerate(notes) if n.kind == "cloze"]
        self.words: dict[str, frozenset[str]] = {}  # each text's, once
        self.lines: dict[str, frozenset[str]] = {}

    def words_of(self, text: str) -> frozenset[str]:
        """The words of *text*, whatever their case and the punctuation around them."""
        if text not in self.words:
            self.words[text] = frozenset(_WORD.findall(text.casefold()))
        return self.words[text]

    def lines_of(self, text: str) -> frozenset[str]:
        """A card's title and bullets."""
        if text not in self.lines:
            self.lines[text] = frozenset(text.split("\n"))
        return self.lines[text]

    def take(self, i: int, old: LockedNote) -> None:
        self.found[i] = old
        self.taken.add(old.guid)
        if old.kind == "qa":
            self.card_of[self.notes[i].card] = old.guid

    def left(self, indexes: Iterable[int]) -> list[int]:
        return [i for i in indexes if i not in self.found]

    def free(self, pool: Iterable[LockedNote]) -> list[LockedNote]:
        return [old for old in pool if old.guid not in self.taken]

    def same(
        self,
        indexes: Iterable[int],
        pool: Iterable[LockedNote],
        key: Callable[[int], Hashable],
        old_key: Callable[[LockedNote], Hashable],
    ) -> None:
        """Match each note with the first free locked note of the same key."""
        by_key: dict[Hashable, list[LockedNote]] = defaultdict(list)
        for old in self.free(pool):
            by_key[old_key(old)].append(old)
        for i in self.left(indexes):
            for old in by_key.get(key(i), ()):
                if old.guid not in self.taken:
                    self.take(i, old)
                    break

    def similar_words(self, a: str, b: str) -> float:
        """Dice's coefficient of two texts' words."""
        return _dice(self.words_of(a), self.words_of(b))

    def similar_cards(self, a: str, b: str) -> float:
        """Dice's coefficient of two cards' lines; a card that keeps one of its bullets is
        similar enough, whatever else was rewritten."""
        x, y = self.lines_of(a), self.lines_of(b)
        score = _dice(x, y)
        if score < SIMILAR and x & y - {a.partition("\n")[0], b.partition("\n")[0]}:
            return SIMILAR
        return score

    def best_first(
        self, pairs: Iterable[tuple[int, LockedNote]], similarity: Callable[[str, str], float]
    ) -> None:
        """The most similar pair is matched first, then the next whose two are both free."""
        scored = sorted(
            (
                (score, -i, old.guid, old)
                for i, old in pairs
                if (score := similarity(self.notes[i].text, old.text)) >= SIMILAR
            ),
            key=lambda t: t[:3],
            reverse=True,
        )
        for _, neg_i, _, old in scored:
            if -neg_i not in self.found and old.guid not in self.taken:
                self.take(-neg_i, old)

    def sharing_a_line(self) -> Iterator[tuple[int, LockedNote]]:
        """Each card left, with the free locked cards that share its title or a bullet."""
        olds, cards = self.free(self.old_cards), self.left(self.cards)
        if not olds or not cards:
            return
        by_line: dict[str, list[LockedNote]] = defaultdict(list)
        for old in olds:
            for line in self.lines_of(old.text):
                by_line[line].append(old)
        for i in cards:
            found: dict[str, LockedNote] = {}
            for line in self.lines_of(self.notes[i].text):
                having = by_line.get(line, ())
                if len(having) <= _COMMON:
                    found.update({old.guid: old for old in having})
            yield from ((i, old) for old in found.values())

    def sharing_a_rare_word(self) -> Iterator[tuple[int, LockedNote]]:
        """Each card left, with the free locked cards that have its rarest words: those with
        the rarest, narrowed down to those that also have the next rarest, and so on, while
        some are left and more than a few (rare among the cards left on both sides)."""
        cards, olds = self.left(self.cards), self.free(self.old_cards)
        if not cards or not olds:
            return
        mine = {i: self.words_of(self.notes[i].text) for i in cards}
        theirs = {old.guid: old for old in olds}
        having: dict[str, set[str]] = defaultdict(set)  # word -> GUIDs of the cards with it
        for old in olds:
            for word in self.words_of(old.text):
                having[word].add(old.guid)
        frequency = Counter(w for words in mine.values() for w in words)
        for i, words in mine.items():
            found: set[str] = set()
            for word in sorted(words, key=lambda w: (frequency[w] + len(having[w]), w)):
                narrower = having[word] & found if found else having[word]
                found = narrower or found
                if found and len(found) <= _BEST:
                    break
            yield from ((i, theirs[guid]) for guid in sorted(found)[:_BEST])

    def match(self, card_ids: Sequence[str | None]) -> dict[int, LockedNote]:
        notes = self.notes
        if not self.old_cards and not self.old_clozes:
            return self.found
        by_id = {n.id: n for n in self.old_cards if n.id is not None}
        for i in self.cards:
            card_id = card_ids[notes[i].card]
            if card_id is not None and card_id in by_id:
                self.take(i, by_id.pop(card_id))
        # most notes, in most builds: the GUID their content gives, and the same text
        by_guid = {n.guid: n for n in self.old_cards + self.old_clozes}
        for i in self.left(range(len(notes))):
            note, old = notes[i], by_guid.get(notes[i].guid)
            if (
                old
                and old.guid not in self.taken
                and (old.kind, old.text) == (note.kind, note.text)
            ):
                self.take(i, old)
        self.same(self.cards, self.old_cards, lambda i: notes[i].text, lambda o: o.text)
        bullets = lambda i: _bullets(notes[i].text)  # noqa: E731
        self.same(self.cards, self.old_cards, bullets, lambda o: _bullets(o.text))
        self.best_first(self.sharing_a_line(), self.similar_cards)
        self.best_first(self.sharing_a_rare_word(), self.similar_words)
        in_card = lambda i: (self.card_of.get(notes[i].card, ""), notes[i].text)  # noqa: E731
        self.same(self.clozes, self.old_clozes, in_card, lambda o: (o.card, o.text))
        self.same(self.clozes, self.old_clozes, lambda i: notes[i].text, lambda o: o.text)
        by_card: dict[str, list[LockedNote]] = defaultdict(list)
        for old in self.free(self.old_clozes):
            by_card[old.card].append(old)
        self.best_first(
            (
                (i, old)
                for i in self.left(self.clozes)
                for old in by_card.get(self.card_of.get(notes[i].card, ""), ())
            ),
            self.similar_words,
        )
        return self.found


def _bullets(text: str) -> str:
    """A card's bullets, without its title."""
    return text.partition("\n")[2]


# -- deletion numbers -----------------------------------------------------------------------


def _deletion_numbers(note: Note, texts: Sequence[str], old: LockedNote | None) -> tuple[int, ...]:
    """The number of each deletion of *note* (whose *texts* these are), kept from the locked
    note it continues: a deletion of the same text (one that is there, or one that went and
    comes back); else the most similar deletion of its kind that is left ("1788" edited to
    "1789"); else a number the note never gave."""
    if old is None:
        return tuple(range(1, len(texts) + 1))
    if [text for text, _, _ in old.cloze] == list(texts):
        return tuple(number for _, number, _ in old.cloze)  # the same deletions: most notes
    chosen: list[int | None] = [None] * len(texts)
    used: set[int] = set()
    known: dict[str, list[int]] = defaultdict(list)
    for text, number, _ in (*old.cloze, *old.gone):
        known[text].append(number)
    for j, text in enumerate(texts):
        chosen[j] = next((n for n in known.get(text, ()) if n not in used), None)
        used.add(chosen[j] or 0)
    kinds = [span.kind for span in note.spans]
    pairs = sorted(
        (
            (score, -j, number)
            for j, text in enumerate(texts)
            if chosen[j] is None
            for old_text, number, kind in old.cloze
            if number not in used
            and kind in (kinds[j], "")
            and (score := SequenceMatcher(None, text, old_text).ratio()) >= SIMILAR
        ),
        reverse=True,
    )
    for _, neg_j, number in pairs:
        if chosen[-neg_j] is None and number not in used:
            chosen[-neg_j] = number
            used.add(number)
    last = max(old.last, *used)
    numbers = []
    for kept in chosen:
        if kept is None:
            last += 1
        numbers.append(last if kept is None else kept)
    return tuple(numbers)


def _deletions_of(
    note: Note, old: LockedNote | None
) -> tuple[tuple[Deletion, ...], tuple[Deletion, ...], tuple[int, ...]]:
    """A cloze note's deletions, with their numbers kept from *old*; those of *old*'s that
    went (to have their numbers back if they return); and the card that asks for each."""
    texts = [note.text[s.start : s.end] for s in note.spans]
    numbers = _deletion_numbers(note, texts, old)
    cloze = tuple(zip(texts, numbers, [s.kind for s in note.spans], strict=True))
    cards = _cards(numbers, note.numbers)
    if old is None or old.cloze == cloze:
        return cloze, old.gone if old else (), cards
    return cloze, _gone(cloze, old.gone, old.cloze), cards


def _cards(numbers: Sequence[int], grouping: Sequence[int]) -> tuple[int, ...]:
    """The card that asks for each deletion: its own number, but where ``transform``'s
    *grouping* puts deletions on one card (``cards = "single"``), the lowest of theirs."""
    if len(set(grouping)) == len(grouping):  # a card each: most notes
        return tuple(numbers)
    lowest: dict[int, int] = {}
    for number, group in zip(numbers, grouping, strict=True):
        lowest[group] = min(number, lowest.get(group, number))
    return tuple(lowest[group] for group in grouping)


def _unique(guid: str, taken: set[str]) -> str:
    """A new note's GUID: the one its content derives, unless a note (even a removed one) has
    it; then taken too."""
    unique, salt = guid, 0
    while unique in taken:
        salt += 1
        unique = guid_for(guid, str(salt))
    taken.add(unique)
    return unique


def reconcile(
    notes: Sequence[Note], lock: Lock | None, source: Source, key: str, now: int, css: str = ""
) -> Changes:
    """Give the *notes* of *source* the GUIDs, deletion numbers and ``mod`` times that make a
    re-import update them in place; *key* goes into the new lock.

    *now* stamps new and changed notes, and a changed note is stamped later than its locked
    time in any case. *css* is the deck's own CSS ("" for none): with a new one, every note
    is changed.
    """
    style = _style_hash(css)
    card_ids = [card.id for card in source.cards]
    deck = source.deck.name
    locked = lock.notes if lock else ()
    live = [n for n in locked if not n.removed]
    found = _Matcher(notes, live).match(card_ids)
    if len(live) < len(locked) and len(found) < len(notes):
        # notes that were removed earlier, and come back
        found = _Matcher(notes, [n for n in locked if n.removed], found).match(card_ids)
    taken = {n.guid for n in locked}
    out: list[Note] = []
    entries: list[LockedNote] = []
    added: list[Note] = []
    updated: list[Update] = []
    emptied: list[tuple[Note, tuple[int, ...]]] = []
    card_guid = ""
    for i, note in enumerate(notes):
        old = found.get(i)
        cloze, gone, cards = _deletions_of(note, old) if note.spans else ((), (), ())
        if old is None:
            new = note.stamped(_unique(note.guid, taken), now, cards)
            digest = content_hash(new.kind, new.fields, new.tags, style)
            added.append(new)
        else:
            new = note.stamped(old.guid, old.mod, cards)
            digest = content_hash(new.kind, new.fields, new.tags, style)
            if digest != old.hash:
                # Strictly newer than what Anki has, even when rebuilt within the same second.
                new = new.stamped(old.guid, max(now, old.mod + 1))
            if old.removed:
                added.append(new)  # back in the source: Anki may still have it
            elif digest != old.hash:
                updated.append(Update(old, new))
            if old.cloze and (lost := old.cards.difference(cards)):
                emptied.append((new, tuple(sorted(lost))))
        out.append(new)
        card_id = None
        if note.kind == "qa":  # the first note of every card
            card_guid, card_id = new.guid, card_ids[note.card]
        last = max(old.last if old else 0, *(n for _, n, _ in cloze)) if cloze else 0
        single = len(set(cards)) < len(cards)
        # positional, as LockedNote's fields go: this runs for every note
        entries.append(
            LockedNote(
                new.guid, new.kind, card_guid, digest, new.mod, new.text, card_id, cloze, gone,
                last, single, False, fields_hash(new.fields),
            )
        )  # fmt: skip
    current = {n.guid for n in out}
    removed = tuple(n for n in live if n.guid not in current)
    remembered = [n._replace(removed=True) for n in removed]
    remembered += [n for n in locked if n.removed and n.guid not in current]
    unchanged = len(out) - len(added) - len(updated)
    renamed = lock.deck if lock is not None and lock.deck != deck else None
    merged = lock.merged if lock else 0
    new_lock = Lock(deck, key, (*entries, *remembered), style=_styled(lock, style, now))
    return Changes(
        tuple(out), tuple(added), tuple(updated), unchanged, removed, new_lock,
        tuple(emptied), renamed, merged, lock, css,
    )  # fmt: skip
