"""Find dates and treaties in a line of text, and mark them as Anki cloze deletions.

Pure functions: :func:`find` returns non-overlapping :class:`Span` objects, :func:`mark` turns a
text and its spans into the HTML of a cloze field. Patterns are compiled once per set of
options (a deck's ``[cloze]`` table).
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .schema import ClozeOptions, Kind

DEFAULT = ClozeOptions()


class Span(NamedTuple):
    """Characters ``text[start:end]`` are one deletion of the given kind."""

    start: int
    end: int
    kind: Kind


# -- dates ----------------------------------------------------------------------------------

_YEAR = r"(?:1[0-9]{3}|20[0-9]{2})"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# Without a year, only unmistakable month names: "6 june", not "may 5" or "march 3".
_MONTH_NAME = (
    r"(?:january|february|(?-i:March)|april|(?-i:May)|june|july|august|september|october"
    r"|november|december)"
)
_DAY = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_SEASON = r"(?:spring|summer|autumn|fall|winter)"
_ERA = r"(?:BCE|BC|B\.C\.|CE)\b|(?-i:AD)\b|(?-i:A\.D\.)"
_ANCIENT = rf"(?:[0-9]{{1,4}}\s?(?:{_ERA})|(?-i:AD|A\.D\.)\s?[0-9]{{1,4}}\b)"
# A single point in time, most specific first: "22 june 1941", "june 22, 1941", "sep 1934",
# "c. 1800", "44 BC", "6 june", "1926".
_ISO = rf"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"  # 1918-11-11
_POINT = (
    rf"(?:{_ISO}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}"
    rf"|{_MONTH}\s+{_DAY},?\s+{_YEAR}"
    rf"|(?:{_MONTH}|{_SEASON})\s+(?:of\s+)?{_YEAR}"
    rf"|(?:c\.|ca\.|circa)\s?(?:{_ANCIENT}|[0-9]{{3,4}}\b)"
    rf"|{_ANCIENT}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH_NAME}\b|{_MONTH_NAME}\s+{_DAY}\b"
    rf"|{_YEAR})"
)
_RANGE_SEP = r"(?:\s*[-–—]\s*|\s+(?:to|until|till)\s+)"
# Numbers followed by these are counts or amounts, not years ("1500 tanks").
_UNITS = (
    r"men|women|people|children|troops|soldiers|tanks|planes|aircraft|ships|submarines|guns"
    r"|missiles|warheads|bombs|weapons|deaths|dead|killed|casualties|prisoners|refugees"
    r"|workers|members|delegates|scientists|students|patients|votes|seats|species|copies"
    r"|pages|km|miles|kilometres|kilometers|metres|meters|feet|tons|tonnes|kg|degrees"
    r"|roubles|rubles|marks|dollars|pounds|francs|years|days|weeks|months|hours"
)
_DATE = (
    r"(?<![\w£$€¥#.,/])(?<!\d-)"
    rf"(?:(?:1[0-9]{{2}}|20[0-9])0['’]?s"
    rf"|{_DAY}{_RANGE_SEP}{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}"  # "16 to 28 october 1962"
    rf"|{_POINT}(?:{_RANGE_SEP}(?:{_POINT}|[0-9]{{2}}\b))?)"
    rf"(?![\w%]|[.,]\d|\s*(?:%|per\s?cent)|\s*-\s*(?:year|month|week|day)|\s+(?:{_UNITS})\b)"
)
# "between 1905 and 1907": the dates are the deletion, "between" stays as the hint.
_BETWEEN = rf"\bbetween\s+(?P<between>(?:{_POINT})\s+and\s+(?:{_POINT}))(?![\w%])"


# -- treaties -------------------------------------------------------------------------------

_KEYWORD = re.compile(r"\b(?:treaty|pact|accords?|agreement)\b", re.IGNORECASE)
_KEYWORDS_LOWER = [re.compile(rf"{word}\b") for word in ("treaty", "pact", "accords?", "agreement")]
# "ToB", "ToR": abbreviations students write for "Treaty of Berlin", "Treaty of Rapallo".
_ABBREVIATION = re.compile(r"To[A-Z]{1,3}\b")
_WORD_CHAR = re.compile(r"\w")
_WORD = r"[^\W\d_][\w'’]*(?:[-–][^\W_][\w'’]*)*"
_WORD_END = re.compile(rf"(?<![\w'’-]){_WORD}\Z")
# "treaty of Brest-Litovsk", "Treaty of San Stefano", "pact of mutual assistance", "pact of steel"
_OF_NAME = re.compile(
    rf"\s+(?i:of)\s+(?:(?i:mutual|non|eternal|perpetual)[\s-]+{_WORD}"
    rf"|[^\W\d_a-z][\w'’-]*(?:\s+[^\W\d_a-z][\w'’-]*)*|{_WORD})"
)
# Words that end a treaty's name when read backwards from its keyword.
_STOP = frozenset(
    """a an the this that these those his her its their our my your some any no each every
    of in on at by for from to into onto under after before during since until with without
    within between against about over via per and or but nor as than then so also not
    is are was were be been being had has have do did will would could should may might must
    signed sign signs signing ratified ratify ratifies ratifying violated violate violating
    broke break breaks breaking broken breached joined join joining left leave formed form
    forming created create establish established negotiated negotiate negotiating agreed
    agree made make making reached reach abandoned renounced rejected accepted accept backed
    new secret same such another which who whose where when while first second third last
    previous earlier later year years month months week weeks day days""".split()
)
# "trade agreement", "peace accord": an agreement needs a word that names it.
_GENERIC = frozenset(
    """trade peace border ceasefire formal informal verbal written final bilateral
    multilateral economic military naval loan credit arms general interim draft""".split()
)
# "a harsh treaty", "a peace treaty", "a defensive pact": words that describe, not name, one
_VAGUE = frozenset(
    """harsh humiliating unequal unfair punitive lenient generous peace defensive offensive
    formal informal final draft interim bilateral multilateral""".split()
)
_MAX_NAME_WORDS = 3
_LOOK_BACK = 100  # characters before "treaty" that may hold its name
_LONGEST_WORD = 60


def _treaty_at(text: str, start: int, end: int) -> Span | None:
    """The treaty named around the keyword at ``text[start:end]``, if it has a name."""
    keyword = text[start:end].lower()
    names: list[str] = []
    lo = max(0, start - _LOOK_BACK, text.rfind(_SEPARATOR, 0, start) + 1)  # this text only
    if start > 0 and text[start - 1].isspace():
        # the words before the keyword, read backwards from it, while they name it
        for token in reversed(text[lo:start].split()[-_MAX_NAME_WORDS:]):
            word = _WORD_END.search(token)
            if word is None or word.group().lower() in _STOP:
                break
            start = text.rfind(token, lo, start) + word.start()
            names.append(word.group().lower())
            if word.start() > 0:  # "(rapallo treaty": the name starts after the bracket
                break
    of_name = _OF_NAME.match(text, end) if keyword in ("treaty", "pact") else None
    if of_name and of_name.group().split()[-1].lower() not in _STOP:
        end = of_name.end()
    elif (
        not names
        or _VAGUE.issuperset(names)
        or (keyword not in ("treaty", "pact") and _GENERIC.issuperset(names))
    ):
        return None  # "the treaty", "a harsh treaty", "a trade agreement": nothing names it
    return Span(start, end, "treaty")


def _keywords(text: str) -> Iterator[tuple[int, int]]:
    """Where "treaty", "pact", "accord(s)" and "agreement" stand as whole words, in order."""
    lower = text.lower()
    if len(lower) != len(text):  # a few characters lower-case to two: search the text itself
        yield from (m.span() for m in _KEYWORD.finditer(text))
        return
    # each word on its own, case-sensitive on a lower-case copy: the regex engine then jumps
    # from one occurrence to the next (several times faster on a whole deck)
    found = sorted(m.span() for keyword in _KEYWORDS_LOWER for m in keyword.finditer(lower))
    for start, end in found:
        if start == 0 or not _WORD_CHAR.match(lower, start - 1):
            yield start, end


# "To" and capitals that are not treaties
_NOT_ABBREVIATIONS = frozenset({"ToC", "ToS", "ToU", "ToDO"})  # contents, service, use, todo


def _abbreviations(text: str) -> Iterator[tuple[int, int]]:
    for m in _ABBREVIATION.finditer(text):
        if m.group() in _NOT_ABBREVIATIONS:
            continue
        if m.start() == 0 or not _WORD_CHAR.match(text, m.start() - 1):
            yield m.span()


# -- the engine -----------------------------------------------------------------------------


_NOTHING = r"(?!x)x"


def _terms(terms: Iterable[str]) -> str:
    alternatives = sorted((re.escape(t.strip()) for t in terms), key=len, reverse=True)
    return rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)" if alternatives else _NOTHING


@dataclass(frozen=True)
class _Patterns:
    glossary: re.Pattern[str]
    ignore: re.Pattern[str]


# A date that starts with digits starts with three of them, or with a day and a space or dash,
# or with a number and an era ("44 BC"): at any other number (most are not dates) the pattern
# fails at once instead of trying every form of date.
_DIGITS_OF_A_DATE = r"(?=[^0-9]|[0-9]{3}|[0-9]{1,2}(?:st|nd|rd|th)?[\s\-–—]|[0-9]{1,4}\s?[a-z])"
_DATES = re.compile(rf"{_DIGITS_OF_A_DATE}(?:{_BETWEEN}|(?P<date>{_DATE}))", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
# The date words a date can start with lie within this many characters of its first digit:
# up to three of them, "between september of 1939" being the longest.
_DIGIT_WITHIN = 24
_OPENING = "([{\"'“‘"
# Words a date can start with before its first digit.
_DATE_WORDS = frozenset(
    """jan january feb february mar march apr april may jun june jul july aug august sep sept
    september oct october nov november dec december spring summer autumn fall winter of
    between circa c ca ad a.d""".split()
)


def _is_date_word(token: str) -> bool:
    return token.lstrip(_OPENING).rstrip(".,").lower() in _DATE_WORDS


@functools.lru_cache(maxsize=32)
def _patterns(glossary: tuple[str, ...], ignore: tuple[str, ...]) -> _Patterns:
    return _Patterns(
        re.compile(_terms(glossary), re.IGNORECASE), re.compile(_terms(ignore), re.IGNORECASE)
    )


def _dates(text: str) -> Iterator[Span]:
    """The dates in *text*, in order.

    The date pattern is tried only where a date can start: at each run of digits, and at the
    date words just before it ("between september 1939", "winter of 1962", "c. 1800"). That
    is many times faster than searching the text with it, and finds the same dates.
    """
    end = 0
    for digits in _DIGITS.finditer(text):
        at = digits.start()
        if at < end:
            continue  # within the date just found: "1932" in "1929 to 1932"
        lo = max(0, at - _DIGIT_WITHIN)
        lo = max(lo, text.rfind(_SEPARATOR, lo, at) + 1)  # this text only
        last = text[lo:at].rsplit(None, 1)
        words = _words_before(text, lo, at) if last and _is_date_word(last[-1]) else []
        for start in (*words, at):
            if start < end or (date := _DATES.match(text, start)) is None:
                continue
            end = date.end()
            if not _is_count(text, date):
                group = date.lastgroup or 0
                yield Span(date.start(group), date.end(group), "date")


def _words_before(text: str, lo: int, at: int) -> list[int]:
    """Where each of the date words just before *at* (and after *lo*) starts."""
    starts: list[int] = []
    for token in reversed(text[lo:at].split()[-3:]):
        if not _is_date_word(token):
            break
        at = text.rfind(token, lo, at)
        starts.append(at + len(token) - len(token.lstrip(_OPENING)))
    return starts[::-1]


def _candidates(text: str, patterns: _Patterns) -> Iterator[tuple[bool, Span]]:
    """(from the glossary?, span) for each candidate deletion."""
    if patterns.glossary.pattern != _NOTHING:
        for m in patterns.glossary.finditer(text):
            yield True, Span(m.start(), m.end(), "treaty")
    for start, end in _abbreviations(text):
        yield False, Span(start, end, "treaty")
    for start, end in _keywords(text):
        if (span := _treaty_at(text, start, end)) is not None:
            yield False, span
    for span in _dates(text):
        yield False, span


# lower case only: "1945 Soviets took Berlin" starts with a year far more often than not
_PLURAL_AFTER = re.compile(r"\s+([a-z]{2,}s)\b")
_NOT_PLURAL = frozenset("was has is as its his this thus onwards afterwards towards".split())
_WORD_LEFT = re.compile(r"([A-Za-z]+)[^\w\x00]*$")
# "the 1945 elections", "in 1930 strikes spread": after these words a year stays a year
_YEAR_CONTEXT = frozenset(
    "the in of since by from until till after before during early late mid between and or"
    " to".split()
)


def _is_count(text: str, m: re.Match[str]) -> bool:
    """A bare number read as a year, but followed by a plural noun: "listed 1022 stars"."""
    if not m.group().isdigit():
        return False
    plural = _PLURAL_AFTER.match(text, m.end())
    if plural is None or plural.group(1).lower() in _NOT_PLURAL:
        return False
    left = _WORD_LEFT.search(text, max(0, m.start() - _LONGEST_WORD), m.start())
    return left is None or left.group(1).lower() not in _YEAR_CONTEXT


def find(text: str, options: ClozeOptions = DEFAULT) -> list[Span]:
    """Dates and treaties in *text*, in order, none overlapping another.

    Glossary terms come first; otherwise, where two candidates overlap, the longer one wins (a
    date inside a treaty's name stays part of the treaty). Nothing overlapping an ignored term
    is kept, and only the kinds in ``options.kinds`` are.
    """
    return find_all([text], options)[0]


# Joins texts scanned together: no text holds it, and no pattern reaches across it (it is not
# a word character, a digit or white space).
_SEPARATOR = "\x00"


def find_all(texts: Sequence[str], options: ClozeOptions = DEFAULT) -> list[list[Span]]:
    """:func:`find` for each of *texts*, much faster than one by one.

    The texts are joined and scanned as one, so that the regular expressions run once over
    the whole deck instead of once per bullet.
    """
    joined = _SEPARATOR.join(texts)
    terms = (*options.glossary, *options.ignore)
    if len(texts) > 1 and (
        joined.count(_SEPARATOR) != len(texts) - 1 or any(_SEPARATOR in t for t in terms)
    ):
        return [find_all([t], options)[0] for t in texts]
    offsets = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
    patterns = _patterns(options.glossary, options.ignore)
    candidates: dict[int, list[tuple[bool, Span]]] = defaultdict(list)
    for from_glossary, span in _candidates(joined, patterns):
        if span.kind in options.kinds:
            i = bisect.bisect_right(offsets, span.start) - 1
            start, end = span.start - offsets[i], span.end - offsets[i]
            candidates[i].append((from_glossary, Span(start, end, span.kind)))
    blocked: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for m in patterns.ignore.finditer(joined) if options.ignore else ():
        i = bisect.bisect_right(offsets, m.start()) - 1
        blocked[i].append((m.start() - offsets[i], m.end() - offsets[i]))
    found: list[list[Span]] = [[] for _ in texts]
    for i, spans in candidates.items():
        found[i] = _choose(spans, blocked.get(i, []))
    return found


def _choose(candidates: list[tuple[bool, Span]], blocked: list[tuple[int, int]]) -> list[Span]:
    if len(candidates) == 1 and not blocked:  # most texts: nothing to choose between
        return [candidates[0][1]]
    chosen: list[Span] = []
    for _, span in sorted(candidates, key=lambda c: (not c[0], c[1].start - c[1].end, c[1])):
        if all(span.end <= s or span.start >= e for s, e in blocked) and all(
            span.end <= c.start or span.start >= c.end for c in chosen
        ):
            chosen.append(span)
    return sorted(chosen)


_UNSAFE = re.compile(r"[&<>{}\n]")
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("{", "&#123;"), ("}", "&#125;"))


def escape(text: str) -> str:
    """HTML for *text* that Anki shows as typed and never reads as cloze or template syntax."""
    for char, entity in _ENTITIES:  # "&" first; most texts hold none of these
        if char in text:
            text = text.replace(char, entity)
    return text.replace("\n", "<br>") if "\n" in text else text


def escape_all(texts: Sequence[str]) -> list[str]:
    """:func:`escape` for each of *texts*, all at once (much faster than one by one)."""
    escaped = escape(_SEPARATOR.join(texts)).split(_SEPARATOR)
    return escaped if len(escaped) == len(texts) else [escape(text) for text in texts]


def mark(text: str, spans: Sequence[Span], numbers: Sequence[int]) -> str:
    """The cloze field for *text*: each of *spans* a deletion of the card its number names,
    ``{{c1::...}}``, ``{{c2::...}}`` (the same number twice: one card hides both)."""
    quote = escape if _UNSAFE.search(text) else str  # most texts have nothing to escape
    out: list[str] = []
    pos = 0
    for number, span in zip(numbers, spans, strict=True):
        # "::" inside a deletion would start a hint; an entity keeps it literal.
        answer = quote(text[span.start : span.end]).replace(":", "&#58;")
        out += [quote(text[pos : span.start]), f"{{{{c{number}::{answer}}}}}"]
        pos = span.end
    out.append(quote(text[pos:]))
    return "".join(out)


_MARKED = re.compile(r"\{\{c(\d+)::(.*?)\}\}", re.DOTALL)


def unescape(html_text: str) -> str:
    """The text that :func:`escape` made *html_text* of."""
    return html.unescape(html_text.replace("<br>", "\n"))


def unmark(field: str) -> tuple[str, list[tuple[str, int]]]:
    """The text of a cloze field that :func:`mark` wrote, and its deletions as (text, number)."""
    pieces: list[str] = []
    deletions: list[tuple[str, int]] = []
    pos = 0
    for m in _MARKED.finditer(field):
        answer = unescape(m.group(2))
        pieces += [unescape(field[pos : m.start()]), answer]
        deletions.append((answer, int(m.group(1))))
        pos = m.end()
    pieces.append(unescape(field[pos:]))
    return "".join(pieces), deletions
