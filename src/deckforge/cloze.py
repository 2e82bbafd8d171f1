"""Find dates and treaties in a line of text, and mark them as Anki cloze deletions.

Pure functions: :func:`find` returns non-overlapping :class:`Span` objects, :func:`mark` turns a
text and its spans into the HTML of a cloze field.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["date", "treaty"]


@dataclass(frozen=True, order=True)
class Span:
    """Characters ``text[start:end]`` are one deletion of the given kind."""

    start: int
    end: int
    kind: Kind


# -- dates ----------------------------------------------------------------------------------

_YEAR = r"(?:1\d{3}|20\d{2})"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_SEASON = r"(?:spring|summer|autumn|fall|winter)"
# A single point in time, most specific first: "22 june 1941", "june 22, 1941", "sep 1934", "1926".
_POINT = (
    rf"(?:{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}"
    rf"|{_MONTH}\s+{_DAY},?\s+{_YEAR}"
    rf"|(?:{_MONTH}|{_SEASON})\s+(?:of\s+)?{_YEAR}"
    rf"|{_YEAR})"
)
_RANGE_SEP = r"(?:\s*[-–—]\s*|\s+(?:to|until|till)\s+)"
# Numbers followed by these are counts or amounts, not years ("1500 tanks").
_UNITS = (
    r"men|women|people|troops|soldiers|tanks|planes|aircraft|ships|guns|deaths|dead|killed"
    r"|casualties|prisoners|workers|members|votes|seats|km|miles|kilometres|kilometers|metres"
    r"|meters|tons|tonnes|roubles|rubles|marks|dollars|pounds|francs"
)
_DATE = re.compile(
    rf"(?<![\w£$€¥#.,/-])"
    rf"(?:{_POINT}(?:{_RANGE_SEP}(?:{_POINT}|\d{{2}}))?"
    rf"|(?:1\d{{2}}|20\d)0['’]?s)"
    rf"(?![\w%]|[.,]\d|\s*(?:%|per\s?cent)|\s+(?:{_UNITS})\b)",
    re.IGNORECASE,
)
# "between 1905 and 1907": the years are the deletion, "between" stays as the hint.
_BETWEEN = re.compile(
    rf"\bbetween\s+(?P<x>(?<![\w.,])(?:{_POINT})\s+and\s+(?:{_POINT}))(?![\w%])", re.IGNORECASE
)


def _dates(text: str) -> Iterator[Span]:
    for m in _BETWEEN.finditer(text):
        yield Span(m.start("x"), m.end("x"), "date")
    for m in _DATE.finditer(text):
        yield Span(m.start(), m.end(), "date")


# -- treaties -------------------------------------------------------------------------------

_KEYWORD = re.compile(r"\b(?:treaty|pact)\b", re.IGNORECASE)
_WORD = r"[^\W\d_][\w'’]*(?:[-–][^\W_][\w'’]*)*"
_WORD_BEFORE = re.compile(rf"({_WORD})\s+$")
# "treaty of Brest-Litovsk", "Treaty of San Stefano", "pact of mutual assistance", "pact of steel"
_OF_NAME = re.compile(
    rf"\s+of\s+(?:(?:mutual|non|eternal|perpetual)[\s-]+{_WORD}"
    rf"|[^\W\d_a-z][\w'’-]*(?:\s+[^\W\d_a-z][\w'’-]*)*|{_WORD})"
)
# "ToB", "ToR": the deck's own abbreviations for "Treaty of Berlin", "Treaty of Rapallo".
_ABBREVIATION = re.compile(r"\bTo[A-Z][A-Za-z]{0,2}\b")
# Words that end a treaty's name when read backwards from "treaty"/"pact".
_STOP = frozenset(
    """a an the this that these those his her its their our my your some any no each every
    of in on at by for from to into onto under after before during since until with without
    within between against about over via per and or but nor as than then so also not
    is are was were be been being had has have do did signed sign signs signing broke break
    breaks breaking broken negotiated negotiate agreed agree made make making new secret same
    such another which who whose where when while first second third last previous""".split()
)
_MAX_NAME_WORDS = 3


def _treaties(text: str) -> Iterator[Span]:
    for m in _KEYWORD.finditer(text):
        start, end = m.start(), m.end()
        words = 0
        while words < _MAX_NAME_WORDS:
            before = _WORD_BEFORE.search(text, 0, start)
            if before is None or before.group(1).lower() in _STOP:
                break
            start, words = before.start(1), words + 1
        of_name = _OF_NAME.match(text, end)
        if of_name and of_name.group().split()[-1].lower() not in _STOP:
            end = of_name.end()
        elif words == 0:
            continue  # "the treaty", "a pact": no name, nothing to learn
        yield Span(start, end, "treaty")
    for m in _ABBREVIATION.finditer(text):
        yield Span(m.start(), m.end(), "treaty")


# -- both -----------------------------------------------------------------------------------


def find(text: str) -> list[Span]:
    """Dates and treaties in *text*, in order, none overlapping another.

    Where two candidates overlap, the longer one wins: a year inside a treaty's name stays part
    of the treaty.
    """
    chosen: list[Span] = []
    candidates = sorted({*_dates(text), *_treaties(text)}, key=lambda s: (s.start - s.end, s))
    for span in candidates:
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen)


def escape(text: str) -> str:
    """HTML for *text* that Anki shows as typed and never reads as cloze or template syntax."""
    return html.escape(text, quote=False).replace("{", "&#123;").replace("}", "&#125;")


def mark(text: str, spans: Iterable[Span]) -> str:
    """The cloze field for *text*: each span becomes its own deletion, ``{{c1::...}}``, in order."""
    out: list[str] = []
    pos = 0
    for number, span in enumerate(sorted(spans), start=1):
        # "::" inside a deletion would start a hint; an entity keeps it literal.
        answer = escape(text[span.start : span.end]).replace(":", "&#58;")
        out += [escape(text[pos : span.start]), f"{{{{c{number}::{answer}}}}}"]
        pos = span.end
    out.append(escape(text[pos:]))
    return "".join(out)
