"""Text written in Markdown (``[deck] format = "markdown"``): emphasis, strong, code, links and
strikethrough, as CommonMark (and GitHub's ``~~strikethrough~~``) read them.

:func:`read` gives the text a student reads, and the formatting around parts of it; the cloze
engine runs on that text, and :func:`cloze.mark <deckforge.cloze.mark>` writes the field with the
formatting back in. HTML in the source is text, shown as typed, never markup; so is Anki's.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Where an author's mark starts and ends while Markdown is read: characters no text holds.
_OPEN, _CLOSE = "\ue000", "\ue001"
_TAGS = {"em": "em", "strong": "strong", "s": "s"}


class Format(NamedTuple):
    """Characters ``text[start:end]`` are shown between the HTML tags ``opening`` and
    ``closing``."""

    start: int
    end: int
    opening: str
    closing: str


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def read(
    source: str, marked: Sequence[tuple[int, int]] = ()
) -> tuple[str, tuple[tuple[int, int], ...], tuple[Format, ...]]:
    """The text *source* (Markdown) reads as, the author's *marked* deletions (spans of
    *source*) as spans of that text, and its formatting."""
    for start, end in sorted(marked, reverse=True):  # kept through Markdown as two characters
        source = source[:start] + _OPEN + source[start:end] + _CLOSE + source[end:]
    tokens = _parser().parseInline(source)[0].children or []
    text: list[str] = []
    length = 0
    opened: list[tuple[int, str, str]] = []  # formatting not closed yet
    formats: list[Format] = []
    for token in tokens:
        kind = token.type
        if kind in ("text", "code_inline", "softbreak", "hardbreak", "image"):
            content = "\n" if kind.endswith("break") else token.content
            if kind == "code_inline":
                formats.append(Format(length, length + len(content), "<code>", "</code>"))
            text.append(content)
            length += len(content)
        elif kind.endswith("_open"):
            name = kind.removesuffix("_open")
            if name == "link":
                href = str(token.attrs.get("href", "")).replace(_OPEN, "").replace(_CLOSE, "")
                href = html.escape(href, quote=True)
                opened.append((length, f'<a href="{href}">', "</a>"))
            elif name in _TAGS:
                opened.append((length, f"<{_TAGS[name]}>", f"</{_TAGS[name]}>"))
        elif kind.endswith("_close") and opened:
            start, opening, closing = opened.pop()
            if length > start:  # "[](https://x)" shows nothing: no format
                formats.append(Format(start, length, opening, closing))
    return _unmarked("".join(text), formats)


def _unmarked(
    text: str, formats: list[Format]
) -> tuple[str, tuple[tuple[int, int], ...], tuple[Format, ...]]:
    """*text* without the characters that marked deletions, the deletions they marked, and
    *formats* moved to match."""
    if _OPEN not in text:
        return text, (), tuple(sorted(formats))
    plain: list[str] = []
    at: list[int] = []  # where each character of *text* is in the plain text
    spans, starts = [], []
    for char in text:
        at.append(len(plain))
        if char == _OPEN:
            starts.append(len(plain))
        elif char == _CLOSE and starts:
            spans.append((starts.pop(), len(plain)))
        else:
            plain.append(char)
    at.append(len(plain))
    moved = [Format(at[f.start], at[f.end], f.opening, f.closing) for f in formats]
    return "".join(plain), tuple(sorted(spans)), tuple(sorted(moved))


S = TypeVar("S", bound=tuple[Any, ...])  # a span: its start and end first


def fit(spans: Sequence[S], formats: Sequence[Format], make: Callable[[S, int, int], S]) -> list[S]:
    """*spans* (in order, none overlapping) widened so that none cuts through formatting: a
    deletion of "treaty of berlin" in "**the treaty** of berlin" takes "the" with it. *make*
    gives a span its new bounds; a span that then overlaps the one before it goes."""
    fitted: list[S] = []
    for span in spans:
        start, end = span[0], span[1]
        widened = True
        while widened:
            widened = False
            for f in formats:
                if start < f.start < end < f.end or f.start < start < f.end < end:
                    start, end, widened = min(start, f.start), max(end, f.end), True
        if not fitted or fitted[-1][1] <= start:
            fitted.append(span if (start, end) == (span[0], span[1]) else make(span, start, end))
    return fitted
