"""Deletions the author marks in a bullet: ``{{the span}}`` hides "the span" on a card of its own.

``\\{{`` and ``\\}}`` are the braces themselves (in a TOML ``"..."`` string the backslash is
written twice, ``"\\\\{{"``; in a ``'...'`` string once). A bullet with neither ``{{`` nor ``}}``
is read as it is, with nothing to look at.
"""

from __future__ import annotations

import re

OPEN, CLOSE = "{{", "}}"
_BRACES = re.compile(r"\{\{|\}\}")
_TOKEN = re.compile(r"\\\{\{|\\\}\}|\{\{|\}\}")
# "{{c1::text}}": Anki's own syntax, which deckforge writes itself
_ANKI_SYNTAX = re.compile(r"\s*c\d+::")
_LITERAL = "; for the braces themselves write '\\{0}' (\"\\\\{0}\" in double quotes)"


class MarkError(ValueError):
    """A malformed mark: *offset* is where it starts in the bullet."""

    def __init__(self, offset: int, msg: str) -> None:
        super().__init__(msg)
        self.offset = offset
        self.msg = msg


def read(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """*text* as the student reads it, and the (start, end) of each deletion its marks make
    in that; raise :class:`MarkError` at a malformed mark.

    The marks go, and so do spaces just inside them: ``{{ 1793 }}`` reads as ``1793``.
    """
    if OPEN not in text and CLOSE not in text:
        return text, ()  # nearly every bullet
    plain, pos = "", 0
    spans: list[tuple[int, int]] = []
    opened: tuple[int, int] | None = None  # the open mark: where in text, where in plain
    for m in _TOKEN.finditer(text):
        plain += text[pos : m.start()]
        pos = m.end()
        token = m.group()
        if token.startswith("\\"):  # the braces themselves
            plain += token[1:]
        elif token == OPEN:
            if opened is not None:
                raise MarkError(m.start(), "a {{ inside a marked deletion: marks cannot nest")
            opened = (m.start(), len(plain))
        elif opened is None:
            raise MarkError(m.start(), "a }} that closes no {{" + _LITERAL.format("}}"))
        else:
            at, start = opened
            inside = plain[start:].strip()
            if not inside:
                raise MarkError(at, "an empty marked deletion: {{ }} must hold some text")
            if _ANKI_SYNTAX.match(inside):
                raise MarkError(at, "write {{text}}: deckforge numbers the deletions itself")
            plain = plain[:start] + inside
            spans.append((start, len(plain)))
            opened = None
    if opened is not None:
        raise MarkError(opened[0], "a {{ that is never closed" + _LITERAL.format("{{"))
    return plain + text[pos:], tuple(spans)


def plain(text: str) -> str:
    """*text* as the student reads it; as it is, if its marks are malformed."""
    try:
        return read(text)[0]
    except MarkError:
        return text


def escape(text: str) -> str:
    """*text* written so that it reads as itself: its braces ``{{`` and ``}}`` escaped."""
    if OPEN not in text and CLOSE not in text:
        return text
    return _BRACES.sub(r"\\\g<0>", text)
