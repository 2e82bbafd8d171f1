"""Stable identifiers: note GUIDs and the deck id, derived from the source, never the clock."""

from __future__ import annotations

import hashlib

# Anki's own GUID alphabet (anki.utils.base91): GUIDs look like the ones Anki makes itself.
_BASE91 = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)


def _digest(*parts: str) -> int:
    data = "\x1f".join(parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def guid_for(*parts: str) -> str:
    """A GUID that depends on *parts* alone."""
    number, out = _digest(*parts), ""
    while number:
        number, digit = divmod(number, len(_BASE91))
        out = _BASE91[digit] + out
    return out or _BASE91[0]


def deck_id_for(name: str) -> int:
    """The deck's id; Anki matches decks by name, so the id only has to be stable and valid."""
    return (1 << 30) + _digest("deck", name) % (1 << 30)
