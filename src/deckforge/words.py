"""How deckforge writes counts in its messages."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 card``, ``2 cards``; *nouns* where adding an "s" is wrong."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
