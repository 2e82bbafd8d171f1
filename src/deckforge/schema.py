"""Pydantic models of a ``cards.toml`` source: what a valid deck looks like, and nothing else."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


def _valid_tag(value: str) -> str:
    if not value:
        raise PydanticCustomError("blank", "must not be empty")
    if any(ch.isspace() for ch in value):
        # Anki separates tags with spaces; a space would silently split one tag into two.
        raise PydanticCustomError(
            "tag_space",
            "tag '{tag}' must not contain spaces (use '_' or '::' instead)",
            {"tag": value},
        )
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
Tag = Annotated[str, AfterValidator(_valid_tag)]


class _Model(BaseModel):
    # extra="forbid": a misspelled key is a mistake to report, not data to drop.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deck(_Model):
    """The ``[deck]`` table: the Anki deck every note goes into."""

    name: Text
    description: str = ""
    tags: tuple[Tag, ...] = ()


class Card(_Model):
    """One ``[[cards]]`` entry: a topic and its bullet facts."""

    title: Text
    bullets: Annotated[tuple[Text, ...], Field(min_length=1)]
    tags: tuple[Tag, ...] = ()
    # Fixes the card's identity in Anki whatever else changes (see identity.py); optional.
    id: Text | None = None


Kind = Literal["date", "treaty"]


class ClozeOptions(_Model):
    """The ``[cloze]`` table: what becomes a cloze deletion, and how."""

    # which kinds of deletion to make
    kinds: tuple[Kind, ...] = ("date", "treaty")
    # terms to cloze as treaties and agreements, e.g. "munich conference"
    glossary: tuple[Text, ...] = ()
    # terms never to cloze, nor anything inside them, e.g. "10 year agreement"
    ignore: tuple[Text, ...] = ()
    # "per-deletion": one Anki card per deletion; "single": one card hides them all
    cards: Literal["per-deletion", "single"] = "per-deletion"
    # also make cloze notes of dates and treaties in card titles
    titles: bool = False


class Source(_Model):
    """A whole ``cards.toml``: the deck, its cards in source order, and the cloze options."""

    deck: Deck
    cards: Annotated[tuple[Card, ...], Field(min_length=1)]
    cloze: ClozeOptions = ClozeOptions()

    @field_validator("cards")
    @classmethod
    def _ids_are_unique(cls, cards: tuple[Card, ...]) -> tuple[Card, ...]:
        seen: dict[str, int] = {}
        for index, card in enumerate(cards):
            if card.id is None:
                continue
            if card.id in seen:
                raise PydanticCustomError(
                    "duplicate_id",
                    "'{id}' is already the id of cards[{first}]",
                    {"index": index, "id": card.id, "first": seen[card.id]},
                )
            seen[card.id] = index
        return cards
