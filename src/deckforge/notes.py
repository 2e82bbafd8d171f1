"""Transform a validated source into notes: one question/answer note per card, one cloze note
per bullet that holds a deletion (a date, a treaty, a glossary term, a span its author marked).
Pure: no I/O, and the same source gives the same notes."""

from __future__ import annotations

import binascii
import hashlib
import html
import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Literal, NamedTuple, get_args

from . import cloze, formats, marks
from .schema import Kind, Source

NoteKind = Literal["qa", "cloze"]

# Field names and order are the note types' schema in Anki: changing them makes Anki treat
# imported notes as a different note type. They stay as they are.
QA_FIELDS = ("Topic", "Facts", "Context", "Images")
CLOZE_FIELDS = ("Text", "Topic", "Context", "Images")

TAG_ROOT = "deckforge"
_QA_TAG = f"{TAG_ROOT}::qa"
_CLOZE_TAG = f"{TAG_ROOT}::cloze"
# A cloze note's own tags, by the kinds of deletion it holds.
_KIND_TAGS = {
    frozenset(kinds): (_CLOZE_TAG, *(f"{_CLOZE_TAG}::{kind}" for kind in kinds))
    for n in range(1, len(get_args(Kind)) + 1)
    for kinds in itertools.combinations(get_args(Kind), n)
}


class Note(NamedTuple):
    """One Anki note, ready to package (immutable: a named tuple, cheap to make by the 100,000).

    ``card`` is the index of the card it comes from; ``text`` is what it teaches in plain text
    (the card's title and bullets for a question/answer note, the bullet for a cloze note). A
    cloze note's deletions are ``spans`` of its text, and ``numbers`` says which card of the note
    asks for each (``c1`` is 1): the numbers a deletion keeps through edits (see identity.py).
    """

    kind: NoteKind
    card: int
    text: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    guid: str
    mod: int = 0  # seconds; 0 until identity or the package stamps it
    spans: tuple[cloze.Span, ...] = ()
    numbers: tuple[int, ...] = ()
    formats: tuple[formats.Format, ...] = ()  # of a note written in Markdown: its formatting

    def stamped(self, guid: str, mod: int, numbers: tuple[int, ...] | None = None) -> Note:
        """This note with its identity in Anki: its GUID, modification time and, for a cloze
        note, the numbers of its deletions."""
        if numbers is None or numbers == self.numbers:
            fields, numbers = self.fields, self.numbers
        else:
            fields = (cloze.mark(self.text, self.spans, numbers, self.formats), *self.fields[1:])
        kind, card, text, tags, spans = self.kind, self.card, self.text, self.tags, self.spans
        return Note(kind, card, text, fields, tags, guid, mod, spans, numbers, self.formats)

    @property
    def ords(self) -> list[int]:
        """The card ordinals Anki makes of this note: the one card of a question/answer note,
        one card per deletion number of a cloze note (``c1`` is ordinal 0)."""
        return sorted({n - 1 for n in self.numbers}) if self.kind == "cloze" else [0]

    @property
    def model_fields(self) -> tuple[str, ...]:
        return QA_FIELDS if self.kind == "qa" else CLOZE_FIELDS


def digest(*parts: str) -> bytes:
    """64 bits of a hash of *parts*: what every id deckforge derives is made of."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def guid_for(*parts: str) -> str:
    """A GUID that depends on *parts* alone: :func:`digest` in 11 URL-safe characters."""
    # base64.urlsafe_b64encode(...)[:11], without its Python-level steps: this runs per note
    encoded = binascii.b2a_base64(digest(*parts), newline=False)[:11]
    return encoded.translate(_URL_SAFE).decode("ascii")


def media_name(deck: str, path: str, content: str = "") -> str:
    """The name an image gets in Anki's media folder, e.g. ``poland-1939-3f9a1c2b7d.png``.

    Anki keeps media by file name alone, in one folder for every deck: the name carries a hash
    of the deck, the image's path and its *content* (a hash of the file, when known), so two
    decks' ``maps/poland.png`` cannot collide, and an image replaced by another of the same
    name is a new file in Anki, shown by the notes it is on.
    """
    image = PurePosixPath(path.replace("\\", "/"))
    parts = ("media", deck, image.as_posix(), *((content,) if content else ()))
    return f"{image.stem}-{digest(*parts).hex()}"[:-6] + image.suffix


_TAG_UNSAFE = re.compile(r'[\s"]+')


def topic_tag(title: str) -> str:
    """``deckforge::topic::china_1924-29``: Anki tags cannot hold spaces."""
    return f"{TAG_ROOT}::topic::{_TAG_UNSAFE.sub('_', title.strip())}"


def transform(
    source: Source, key: str | None = None, media: Mapping[str, str] | None = None
) -> list[Note]:
    """The notes for *source*, card by card in source order; *media* names each image in Anki
    (by its path in the source; by default, :func:`media_name` of the path alone).

    A note's GUID derives from *key* (by default the deck's name) and its content: the same
    source gives the same GUIDs, and no two different notes share one. A question/answer note
    derives it from its card's ``id``, or its title and bullets in any order; a cloze note from
    its own text (a new title for its card does not change it).
    """
    deck, options, cards = source.deck, source.cloze, source.cards
    key = deck.name if key is None else key
    bullets_read, titles_read, scanned, escaped, titles = _texts(source)
    facts = [text for _, text, _, _ in bullets_read]
    # the texts of the whole deck scanned at once: much faster than one by one
    found = iter(
        cloze.find_all([t for _, t, _, _ in scanned], options, [m for *_, m, _ in scanned])
    )
    single = options.cards == "single"
    deck_name = cloze.escape(deck.name)
    parts = Counter(card.title for card in cards)
    seen: dict[str, int] = {}
    repeats: dict[str, int] = {}  # the same text, in more than one cloze note
    notes: list[Note] = []
    first = 0
    scan = iter(scanned)
    for index, card in enumerate(cards):
        title, bullets = titles_read[index][1], facts[first : first + len(card.bullets)]
        written = [source for source, *_ in bullets_read[first : first + len(card.bullets)]]
        number = seen[title] = seen.get(title, 0) + 1
        context = deck_name
        if parts[title] > 1:
            context += f" · part {number} of {parts[title]}"
        if card.prompt:  # which part it is, in words the student can answer from
            context += f"{':' if parts[title] > 1 else ' ·'} {cloze.escape(card.prompt)}"
        tags = (*dict.fromkeys((*deck.tags, *card.tags, topic_tag(title))), _QA_TAG)
        images = "".join(
            f'<img src="{html.escape(media[image] if media else media_name(key, image))}">'
            for image in card.images
        )
        first += len(bullets)
        content = ("id", card.id) if card.id else (card.title, *sorted(written))
        # positional, as Note's fields go (kind, card, text, fields, tags, guid, mod, spans,
        # numbers): this runs for every note of the deck
        fields = (
            titles[index],
            facts_field(escaped[first - len(bullets) : first]),
            context,
            images,
        )
        guid = guid_for("qa", key, *content)
        notes.append(Note("qa", index, "\n".join((title, *bullets)), fields, tags, guid))
        for _ in range(len(bullets) + options.titles):
            (source_text, text, _, formatted), spans = next(scan), next(found)
            if formatted:  # a deletion never cuts through formatting
                spans = formats.fit(spans, formatted, lambda s, a, b: cloze.Span(a, b, s.kind))
            if not spans:
                continue
            repeat = repeats[source_text] = repeats.get(source_text, 0) + 1
            numbers = (1,) * len(spans) if single else tuple(range(1, len(spans) + 1))
            fields = (cloze.mark(text, spans, numbers, formatted), titles[index], deck_name, images)
            kinds = _KIND_TAGS[frozenset([span.kind for span in spans])]
            guid = guid_for("cloze", key, source_text, str(repeat))
            deletions = tuple(spans)
            notes.append(
                Note(
                    "cloze",
                    index,
                    text,
                    fields,
                    (*tags[:-1], *kinds),
                    guid,
                    0,
                    deletions,
                    numbers,
                    formatted,
                )
            )
    return notes


Read = tuple[str, str, tuple[tuple[int, int], ...], tuple["formats.Format", ...]]


def _texts(source: Source) -> tuple[list[Read], list[Read], list[Read], list[str], list[str]]:
    """Each bullet and title of *source* read (see :func:`_read`), those the cloze engine
    scans in the order it scans them, and the bullets' and titles' HTML."""
    deck, cards = source.deck, source.cards
    bullets = [_read(bullet, deck.format) for card in cards for bullet in card.bullets]
    titles = [_read(card.title, deck.format, marked=False) for card in cards]
    scanned = bullets
    if source.cloze.titles:  # each card's title before its bullets
        pieces = iter(bullets)
        scanned = [
            piece
            for card, title in zip(cards, titles, strict=True)
            for piece in (title, *itertools.islice(pieces, len(card.bullets)))
        ]
    if deck.format == "plain":  # escaped all at once: much faster than one by one
        bullets_html = cloze.escape_all([text for _, text, _, _ in bullets])
        titles_html = cloze.escape_all([card.title for card in cards])
    else:
        bullets_html = [cloze.mark(text, (), (), f) for _, text, _, f in bullets]
        titles_html = [cloze.mark(text, (), (), f) for _, text, _, f in titles]
    return bullets, titles, scanned, bullets_html, titles_html


def _read(text: str, format: str, *, marked: bool = True) -> Read:
    """A title or bullet (with its marks read, when *marked*), as the student reads it, the
    deletions its author marked, and its formatting: (source, text, marked, formats)."""
    source, spans = marks.read(text) if marked else (text, ())
    if format == "plain":
        return source, source, spans, ()
    plain, spans, formatted = formats.read(source, spans)
    return source, plain, spans, formatted


def facts_field(escaped: Sequence[str]) -> str:
    """The Facts field of a question/answer note: its bullets (escaped), a list item each."""
    return f"<ul><li>{'</li><li>'.join(escaped)}</li></ul>"


def cloze_field(text: str, deleted: Sequence[str], numbers: Sequence[int]) -> str:
    """The Text field of the cloze note of *text* whose *deleted* texts, in order, are the
    deletions of the cards *numbers* names."""
    spans, end = [], 0
    for part in deleted:
        start = text.find(part, end)
        if start < 0:  # not this text's: a lock file edited by hand
            return ""
        end = start + len(part)
        spans.append(cloze.Span(start, end, "date"))
    return cloze.mark(text, spans, numbers)


def read_fields(kind: NoteKind, fields: Sequence[str]) -> tuple[str, list[tuple[str, int]]]:
    """What a note's *fields*, as :func:`transform` wrote them, say: its text (see
    :class:`Note`), and a cloze note's deletions as (text, number)."""
    if kind == "cloze":
        return cloze.unmark(fields[0])
    items = fields[1].removeprefix("<ul><li>").removesuffix("</li></ul>").split("</li><li>")
    return "\n".join(cloze.unescape(line) for line in (fields[0], *items)), []
