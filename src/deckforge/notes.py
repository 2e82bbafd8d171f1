"""Transform a validated source into notes: one question/answer note per card, one cloze note
per bullet that holds a date or a treaty. Pure: no I/O, and the same source gives the same notes."""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Literal, NamedTuple

from . import cloze
from .identity import guid_for, media_name
from .schema import Card, Source

NoteKind = Literal["qa", "cloze"]

# Field names and order are the note types' schema in Anki: changing them makes Anki treat
# imported notes as a different note type. They stay as they are.
QA_FIELDS = ("Topic", "Facts", "Context", "Images")
CLOZE_FIELDS = ("Text", "Topic", "Context", "Images")

TAG_ROOT = "deckforge"


class Note(NamedTuple):
    """One Anki note, ready to package (immutable: a named tuple, cheap to make by the 100,000).

    ``card`` is the index of the card it comes from; ``text`` is what it teaches in plain text
    (the card's title and bullets for a question/answer note, the bullet for a cloze note).
    """

    kind: NoteKind
    card: int
    text: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    guid: str
    mod: int = 0  # seconds; 0 until identity or the package stamps it
    spans: tuple[cloze.Span, ...] = ()  # a cloze note's deletions, in its text

    def stamped(self, guid: str, mod: int) -> Note:
        """This note with its identity in Anki: its GUID and modification time."""
        return Note(self.kind, self.card, self.text, self.fields, self.tags, guid, mod, self.spans)

    @property
    def model_fields(self) -> tuple[str, ...]:
        return QA_FIELDS if self.kind == "qa" else CLOZE_FIELDS


_TAG_UNSAFE = re.compile(r'[\s"]+')


def topic_tag(title: str) -> str:
    """``deckforge::topic::china_1924-29``: Anki tags cannot hold spaces."""
    return f"{TAG_ROOT}::topic::{_TAG_UNSAFE.sub('_', title.strip())}"


def transform(source: Source) -> list[Note]:
    """The notes for *source*, card by card in source order."""
    options = source.cloze
    scanned = [
        (card.title, *card.bullets) if options.titles else card.bullets for card in source.cards
    ]
    # every text of the deck scanned at once: much faster than bullet by bullet
    found = iter(cloze.find_all([text for texts in scanned for text in texts], options))
    titles = Counter(card.title for card in source.cards)
    seen: Counter[str] = Counter()
    notes: list[Note] = []
    for index, (card, texts) in enumerate(zip(source.cards, scanned, strict=True)):
        seen[card.title] += 1
        part = (seen[card.title], titles[card.title])
        spans = [(text, next(found)) for text in texts]
        notes += _card_notes(source, index, card, part, spans)
    return notes


def _card_notes(
    source: Source,
    index: int,
    card: Card,
    part: tuple[int, int],
    found: list[tuple[str, list[cloze.Span]]],
) -> list[Note]:
    deck_name, deck_tags, options = source.deck.name, source.deck.tags, source.cloze
    number, total = part
    context = deck_name if total == 1 else f"{deck_name} · part {number} of {total}"
    key = (deck_name, "id", card.id) if card.id else (deck_name, card.title, str(number))
    tags = tuple(dict.fromkeys((*deck_tags, *card.tags, topic_tag(card.title))))
    facts = "".join(f"<li>{cloze.escape(b)}</li>" for b in card.bullets)
    images = "".join(
        f'<img src="{html.escape(media_name(deck_name, image))}">' for image in card.images
    )
    notes = [
        Note(
            kind="qa",
            card=index,
            text="\n".join((card.title, *card.bullets)),
            fields=(cloze.escape(card.title), f"<ul>{facts}</ul>", cloze.escape(context), images),
            tags=(*tags, f"{TAG_ROOT}::qa"),
            guid=guid_for("qa", *key),
        )
    ]
    repeats: Counter[str] = Counter()
    for bullet, spans in found:
        repeats[bullet] += 1
        if not spans:
            continue
        kinds = sorted({f"{TAG_ROOT}::cloze::{s.kind}" for s in spans})
        notes.append(
            Note(
                kind="cloze",
                card=index,
                text=bullet,
                fields=(
                    cloze.mark(bullet, spans, single=options.cards == "single"),
                    cloze.escape(card.title),
                    cloze.escape(deck_name),
                    images,
                ),
                tags=(*tags, f"{TAG_ROOT}::cloze", *kinds),
                guid=guid_for("cloze", *key, bullet, str(repeats[bullet])),
                spans=tuple(spans),
            )
        )
    return notes
