"""Pydantic models of a ``cards.toml`` source: what a valid deck looks like, and nothing else.

The field descriptions become those of ``deckforge schema``, which editors show while
``cards.toml`` is typed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic import Tag as Case
from pydantic_core import PydanticCustomError

from . import marks

# Limits that keep every note something Anki handles comfortably; far above real notes.
MAX_TEXT = 10_000  # characters in a title or a bullet
MAX_BULLETS = 500  # bullets on a card
MAX_CARD_TEXT = 100_000  # characters in a card's title and bullets together
# control characters but tab and newline: C0, DEL and C1
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s")


def _no_control(value: str, pattern: re.Pattern[str] = CONTROL, what: str = "") -> None:
    """Refuse *value* if *pattern* finds a control character in it (*what* names the value,
    as in "tag 'a\\x07b'")."""
    if (bad := pattern.search(value)) is not None:
        raise PydanticCustomError(
            "control_character",
            "{what}holds the control character U+{code}; remove it",
            {"what": what, "code": f"{ord(bad.group()):04X}"},
        )


def _no_empty_part(value: str, what: str) -> None:
    """Refuse a deck name or tag with an empty part between "::": Anki names it "blank"
    ("::Lead" becomes "blank::Lead")."""
    if "::" in value and not all(part.strip() for part in value.split("::")):
        raise PydanticCustomError(
            "empty_part",
            "{what} has an empty part between '::' (Anki would name it 'blank')",
            {"what": what},
        )


def _not_blank(value: str) -> str:
    if not value or value.isspace():
        raise PydanticCustomError("blank", "must not be empty")
    if len(value) > MAX_TEXT:
        raise PydanticCustomError(
            "too_long",
            "is {length} characters long; the most is {limit}",
            {"length": len(value), "limit": MAX_TEXT},
        )
    # Tab and newline are text; other control characters are invisible, and U+001F would
    # split the note's fields in Anki's database.
    plain = value.isascii() and value.isprintable()  # most text, and much faster to check
    if not plain:
        _no_control(value)
    return value if plain else _composed(value)


def _composed(value: str) -> str:
    """*value* in Unicode's composed form (NFC), as Anki stores every field and tag: "é" as
    one character, not "e" and an accent. Text typed either way then reads back unchanged."""
    return unicodedata.normalize("NFC", value)


def _valid_tag(value: str) -> str:
    if not value:
        raise PydanticCustomError("blank", "must not be empty")
    what = f"tag '{value.encode('unicode_escape').decode()}' "
    _no_control(value, what=what)  # Anki would silently strip it
    _no_empty_part(value, what.strip())
    if _SPACE.search(value):
        # Anki separates tags with spaces; a space would silently split one tag into two.
        raise PydanticCustomError(
            "tag_space",
            "tag '{tag}' must not contain spaces (use '_' or '::' instead)",
            {"tag": value},
        )
    return value if value.isascii() else _composed(value)


# a deck name is one line of text: tab, line ends and line separators are control characters
_LINE_BREAKING = re.compile(r"[\t\n\x85\u2028\u2029]")


def _deck_name(value: str) -> str:
    _no_control(value, _LINE_BREAKING)
    _no_empty_part(value, f"'{value}'")
    if value.strip().casefold() == "default":
        raise PydanticCustomError(
            "default_deck",
            "'{name}' is the name of Anki's own first deck: Anki would put these notes in "
            "'Default_'; give the deck a name of its own",
            {"name": value},
        )
    return value


def _description(value: str) -> str:
    _no_control(value)
    return value


def _bullet(value: str) -> str:
    # marks read before the text is composed (NFC): an error's column is where it is typed
    try:
        marks.read(value)
    except marks.MarkError as e:
        # the offset points the error at the mark's column, not just at the bullet
        raise PydanticCustomError("mark", "{msg}", {"msg": e.msg, "offset": e.offset}) from None
    return _not_blank(value)


# The JSON Schema keywords let editors flag the mistake as it is typed; the validators give
# deckforge's own messages.
Text = Annotated[
    str, AfterValidator(_not_blank), Field(json_schema_extra={"minLength": 1, "pattern": r"\S"})
]
Tag = Annotated[str, AfterValidator(_valid_tag), Field(json_schema_extra={"pattern": r"^\S+$"})]
DeckName = Annotated[Text, AfterValidator(_deck_name)]
Bullet = Annotated[
    str, AfterValidator(_bullet), Field(json_schema_extra={"minLength": 1, "pattern": r"\S"})
]
# What a deletion is: found by deckforge (a date, a treaty), a glossary term, or marked by the
# author with {{...}}.
Kind = Literal["date", "treaty", "term", "marked"]
Found = Literal["date", "treaty"]


class _Model(BaseModel):
    # extra="forbid": a misspelled key is a mistake to report, not data to drop.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deck(_Model):
    """The ``[deck]`` table: the Anki deck every note goes into."""

    name: DeckName = Field(description='The deck\'s name in Anki; "Parent::Child" makes a subdeck.')
    description: Annotated[str, AfterValidator(_description)] = Field(
        "", description="Shown on the deck's overview screen in Anki, as typed."
    )
    tags: tuple[Tag, ...] = Field(
        (), description='Tags added to every note of the deck (no spaces; "::" for a hierarchy).'
    )
    format: Literal["plain", "markdown"] = Field(
        "plain",
        description='"plain": titles and bullets shown as typed; "markdown": *emphasis*, '
        "**strong**, `code`, [links](https://...) and ~~strikethrough~~ shown formatted.",
    )


class Card(_Model):
    """One ``[[cards]]`` entry: a topic and its bullet facts."""

    title: Text = Field(
        description="The topic, asked on the front of the card's question/answer note."
    )
    bullets: Annotated[tuple[Bullet, ...], Field(min_length=1)] = Field(
        description="The facts, kept exactly as written; dates and treaties become cloze "
        "deletions, and so does any text marked {{like this}} (\\\\{{ writes the braces)."
    )
    tags: tuple[Tag, ...] = Field((), description="Tags added to this card's notes.")
    id: Text | None = Field(
        None,
        description="Optional; keeps the card the same note in Anki, whatever else changes.",
    )
    images: tuple[Text, ...] = Field(
        (), description="Image files shown with the card's notes, relative to this file's folder."
    )
    prompt: Text | None = Field(
        None,
        description="Optional; a cue shown on the front, e.g. which part of a topic this card is "
        '(a card that shares its title shows "part 2 of 3: <prompt>").',
    )

    @field_validator("bullets")
    @classmethod
    def _not_too_many(cls, bullets: tuple[str, ...]) -> tuple[str, ...]:
        if len(bullets) > MAX_BULLETS:
            raise PydanticCustomError(
                "too_many",
                "has {count} bullets; the most is {limit} (split the card)",
                {"count": len(bullets), "limit": MAX_BULLETS},
            )
        return bullets

    @model_validator(mode="after")
    def _card_is_not_too_long(self) -> Card:
        length = len(self.title) + sum(map(len, self.bullets))
        if length > MAX_CARD_TEXT:
            raise PydanticCustomError(
                "too_long",
                "holds {length} characters in its title and bullets; the most is {limit} "
                "(split the card)",
                {"length": length, "limit": MAX_CARD_TEXT},
            )
        return self


def repeats(cards: list[Any]) -> list[tuple[tuple[int | str, ...], str]]:
    """Every id, card and bullet that repeats an earlier one, as (path in ``cards``, message).

    Takes the cards as parsed from TOML (dictionaries, whatever their values), so that the
    repeats can be reported together with any other mistake in the file.
    """
    found: list[tuple[tuple[int | str, ...], str]] = []
    ids: dict[object, int] = {}
    contents: dict[tuple[str, tuple[str, ...]], int] = {}
    for index, card in enumerate(cards):
        if not isinstance(card, dict):
            continue
        card_id, title, bullets = card.get("id"), card.get("title"), card.get("bullets")
        if isinstance(card_id, str):
            if card_id in ids:
                msg = f"'{card_id}' is already the id of cards[{ids[card_id]}]"
                found.append(((index, "id"), msg))
            ids.setdefault(card_id, index)
        if not isinstance(bullets, list | tuple) or not all(isinstance(b, str) for b in bullets):
            continue
        bullets = [marks.plain(b) for b in bullets]  # as the student reads them
        if len(set(bullets)) < len(bullets):
            first: dict[str, int] = {}
            for position, bullet in enumerate(bullets):
                if bullet in first:
                    msg = f"repeats bullets[{first[bullet]}] word for word"
                    found.append(((index, "bullets", position), msg))
                first.setdefault(bullet, position)
        if isinstance(title, str):
            key = (title, tuple(bullets))
            if key in contents:
                found.append(((index, "title"), f"repeats cards[{contents[key]}] word for word"))
            contents.setdefault(key, index)
    return sorted(found)


class Term(_Model):
    """A glossary entry that says which kind of deletion it is."""

    term: Text = Field(description="The term, matched whole and in any case.")
    kind: Literal["term", "date", "treaty"] = Field(
        "term", description='Its kind: its tag is deckforge::cloze::<kind>. Default "term".'
    )


# A string, or a table: errors then come from the one the entry is, not from both. The names
# of the cases are in an error's path, where a source has no such key (see locate.py).
CASES = ("string", "table")


def _case(entry: object) -> str | None:
    if isinstance(entry, str):
        return "string"
    return "table" if isinstance(entry, dict | Term) else None


GlossaryEntry = Annotated[
    Annotated[Text, Case("string")] | Annotated[Term, Case("table")], Discriminator(_case)
]


class ClozeOptions(_Model):
    """The ``[cloze]`` table: what becomes a cloze deletion, and how."""

    kinds: tuple[Found, ...] = Field(
        ("date", "treaty"),
        description="Which kinds of deletion to find (glossary terms and marks are always made).",
    )
    glossary: tuple[GlossaryEntry, ...] = Field(
        (),
        description='Terms to cloze wherever they appear, e.g. "robespierre", or '
        '{ term = "munich agreement", kind = "treaty" }.',
    )
    ignore: tuple[Text, ...] = Field(
        (), description='Terms never to cloze, nor anything inside them, e.g. "10 year agreement".'
    )
    cards: Literal["per-deletion", "single"] = Field(
        "per-deletion",
        description='"per-deletion": one card per deletion; "single": one card hides them all.',
    )
    titles: StrictBool = Field(
        False, description="Also make cloze notes of the dates and treaties in card titles."
    )


class Shared(_Model):
    """A file that sources ``include``: settings shared by several decks."""

    cloze: ClozeOptions = Field(
        ClozeOptions(),
        description="Cloze options; a source's own values win, glossary and ignore lists add up.",
    )


class Style(_Model):
    """The ``[style]`` table: how the cards look in Anki, beyond deckforge's own CSS."""

    css: Text | None = Field(
        None, description="A CSS file beside this source: its rules follow deckforge's own."
    )
    replace: StrictBool = Field(
        False, description="true: the CSS file alone, without deckforge's own rules."
    )


class Source(_Model):
    """A whole ``cards.toml``: the deck, its cards in source order, and the cloze options."""

    deck: Deck = Field(description="The Anki deck the notes go into.")
    cards: Annotated[tuple[Card, ...], Field(min_length=1)] = Field(
        description="The cards, in the order they are studied."
    )
    cloze: ClozeOptions = Field(
        ClozeOptions(), description="What becomes a cloze deletion, and how."
    )
    include: tuple[Text, ...] = Field(
        (),
        description="Files of shared settings (a [cloze] table), relative to this file's folder.",
    )
    style: Style = Field(Style(), description="How the cards look (CSS).")

    @field_validator("cards")
    @classmethod
    def _cards_are_distinct(cls, cards: tuple[Card, ...]) -> tuple[Card, ...]:
        found = repeats([{"title": c.title, "bullets": c.bullets, "id": c.id} for c in cards])
        if found:
            (index, *field), msg = found[0]
            where = f"cards[{index}]" + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in field
            )
            raise PydanticCustomError("repeated", "{where}: {msg}", {"where": where, "msg": msg})
        return cards

    def with_shared(self, shared: Shared) -> Source:
        """This source with *shared* settings beneath its own."""
        own, base = self.cloze, shared.cloze
        merged = base.model_copy(
            update={
                **{name: getattr(own, name) for name in own.model_fields_set},
                "glossary": base.glossary + own.glossary,
                "ignore": base.ignore + own.ignore,
            }
        )
        return self.model_copy(update={"cloze": merged})


def json_schema() -> dict[str, object]:
    """The JSON Schema of ``cards.toml``, for editors that validate and complete TOML."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **Source.model_json_schema(),
        "title": "deckforge cards.toml",
    }
