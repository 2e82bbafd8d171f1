"""What any command line built on click that validates with Pydantic pays before doing
anything: the two imported, one small model built, one value validated. ``deckforge check`` is
timed against it."""

from __future__ import annotations

import click  # noqa: F401  (imported for its cost)
from pydantic import BaseModel


class Card(BaseModel):
    title: str
    bullets: tuple[str, ...]


Card(title="china 1924-29", bullets=("first united front",))
