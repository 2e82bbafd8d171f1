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

from .schema import ClozeOptions, Kind, Term

DEFAULT = ClozeOptions()


Marked = Sequence[tuple[int, int]]  # (start, end) of each deletion the author marked


class Span(NamedTuple):
    """Characters ``text[start:end]`` are one deletion of the given kind."""

    start: int
    end: int
    kind: Kind


# -- dates ----------------------------------------------------------------------------------

_YEAR = r"(?:1[0-9]{3}|20[0-9]{2})"
# the words of the months, as _MONTH matches them
_MONTHS = frozenset(
    """jan january feb february mar march apr april may jun june jul july aug august sep sept
    september oct october nov november dec december""".split()
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# After a day and without a year: any month, but "may" before a word is the verb ("2 may be").
_MONTH_AFTER_DAY = _MONTH.replace("|may|", r"|may(?!\s+[a-z])|")
# Without a year and before a day, only unmistakable month names: "june 6", "Sept 11", not
# "may 5".
_MONTH_NAME = (
    r"(?:january|february|(?-i:March)|april|(?-i:May)|june|july|august|september|october"
    r"|november|december|(?-i:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?)"
)
# The months of the French republican calendar: "18 brumaire", "9 thermidor".
_REPUBLICAN = (
    r"(?:vend[ée]miaire|brumaire|frimaire|niv[ôo]se|pluvi[ôo]se|vent[ôo]se|germinal"
    r"|flor[ée]al|prairial|messidor|thermidor|fructidor)"
)
_D = r"(?:[12][0-9]|3[01]|0?[1-9])"
_M = r"(?:1[0-2]|0?[1-9])"
_DAY = rf"{_D}(?:st|nd|rd|th)?"
_ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
    " thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
).split()
# "the third of may 1808", "the twenty-first of june"
_DAY_IN_WORDS = (
    r"(?:(?:twenty|thirty)[-\s]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    rf"|twentieth|thirtieth|{'|'.join(_ORDINALS)})"
)
_SEASON = r"(?:spring|summer|autumn|fall|winter)"
_ERA = r"(?:BCE|BC|B\.C\.|CE)\b|(?-i:AD)\b|(?-i:A\.D\.)"
_ANCIENT = rf"(?:[0-9]{{1,4}}\s?(?:{_ERA})|(?-i:AD|A\.D\.)\s?[0-9]{{1,4}}\b)"
_ISO = rf"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"  # 1918-11-11
# Day and month either way round (14/7/1789, 7/4/1776, 2.12.1805) and a year; of two digits
# with slashes only (26/8/89): "3.10.12" is more often a version or a section than a date.
_NUMERIC = rf"(?:{_D}/{_M}|{_M}/{_D})/(?:{_YEAR}|[0-9]{{2}})|(?:{_D}\.{_M}|{_M}\.{_D})\.{_YEAR}"
# A single point in time, most specific first: "22 june 1941", "june 22, 1941", "sep 1934",
# "c. 1800", "44 BC", "6 june", "1926".
_POINT = (
    rf"(?:{_ISO}|{_NUMERIC}"
    rf"|(?:{_DAY}|{_D}\.)\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}"  # "9. November 1918" too
    rf"|{_MONTH}\s+{_DAY},?\s+{_YEAR}"
    rf"|{_DAY_IN_WORDS}\s+of\s+{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|(?:{_MONTH}|{_SEASON})\s+(?:of\s+)?{_YEAR}"
    rf"|(?:c\.|ca\.?|circa)\s?(?:{_ANCIENT}|(?:{_YEAR}|[0-9]{{3}})\b)"
    rf"|{_ANCIENT}"
    rf"|{_DAY}\s+(?:of\s+)?(?:{_MONTH_AFTER_DAY}|{_REPUBLICAN})(?!\w)"
    rf"|{_MONTH_NAME}\s+{_DAY}\b"
    rf"|{_YEAR})"
)
_RANGE_SEP = r"(?:\s*[-–—]\s*|\s+(?:to|until|till)\s+)"
# Numbers followed by these are counts or amounts, not years ("1500 tanks").
_UNITS = (
    r"men|women|people|children|troops|soldiers|tanks|planes|aircraft|ships|submarines|guns"
    r"|missiles|warheads|bombs|weapons|deaths|dead|killed|wounded|injured|captured|missing"
    r"|died|casualties|prisoners|refugees"
    r"|workers|members|delegates|scientists|students|patients|votes|seats|species|copies"
    r"|pages|km|m|miles|kilometres|kilometers|metres|meters|feet|tons|tonnes|kg|degrees"
    r"|roubles|rubles|marks|dollars|pounds|francs|years?|yrs?|days|weeks|months|hours"
)
_DATE = (
    r"(?<![\w£$€¥#.,/])(?<!\d-)(?<!\d:)"
    rf"(?:(?:1[0-9]{{2}}|20[0-9])0['’]?s(?![\w%])"  # a decade is never a count
    # ranges within a month or a year: "16 to 28 october 1962", "10-15 feb", "March 7-9, 1936",
    # "june-july 1940"
    rf"|(?:{_DAY}{_RANGE_SEP}{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH}\s+{_DAY}{_RANGE_SEP}{_DAY},?\s+{_YEAR}"
    rf"|{_MONTH}{_RANGE_SEP}{_MONTH}\s+(?:of\s+)?{_YEAR}"
    rf"|{_POINT}(?:{_RANGE_SEP}{_POINT}|(?:\s*[-–—]\s*|/)[0-9]{{2}}\b)?)"  # "1914-18", "1946/47"
    rf"(?![\w%]|[.,/]\d|\s*(?:%|°|per\s?cent)|\s*-\s*(?:year|month|week|day)))"
)
# "between 1905 and 1907": the dates are the deletion, "between" stays as the hint.
_BETWEEN = rf"\bbetween\s+(?P<between>(?:{_POINT})\s+and\s+(?:{_POINT}))(?![\w%])"


# -- treaties -------------------------------------------------------------------------------

# The words that call an agreement what it is; "treaty of ..." and the others that can be
# named that way ("convention of tauroggen", "protocol of sèvres").
_KEYWORDS = ("treat(?:y|ies)", "pacts?", "accords?", "agreements?", "conventions?", "protocols?")
_OF_KEYWORDS = frozenset(
    "treaty treaties pact pacts convention conventions protocol protocols".split()
)
_KEYWORD = re.compile(rf"\b(?:{'|'.join(_KEYWORDS)})\b", re.IGNORECASE)
_KEYWORDS_LOWER = [re.compile(rf"{word}\b") for word in _KEYWORDS]
# "ToB", "ToR": abbreviations students write for "Treaty of Berlin", "Treaty of Rapallo".
_ABBREVIATION = re.compile(r"To[A-Z]{1,3}\b")
_WORD_CHAR = re.compile(r"\w")
_WORD = r"[^\W\d_][\w'’]*(?:[-–][^\W_][\w'’]*)*"
_WORD_END = re.compile(rf"(?<![\w'’-]){_WORD}\Z")
# a word of a name: "Brest-Litovsk", "St." (Saint, Mount and Fort abbreviated)
_NAME_WORD = r"(?:(?i:st|ste|mt|ft)\.|[^\W\d_a-z][\w'’-]*)"
# "treaty of Brest-Litovsk", "Treaty of San Stefano", "pact of mutual assistance", "pact of steel",
# "treaty of campo formio" (words in lower case: see _named_after)
_OF_NAME = re.compile(
    rf"\s+(?i:of)\s+(?:(?i:mutual|non|eternal|perpetual)[\s-]+{_WORD}"
    rf"|{_NAME_WORD}(?:\s+(?:and\s+)?{_NAME_WORD}){{0,5}}"  # "Treaty of Amity and Commerce"
    rf"|(?P<lower>{_WORD}(?:\s+{_WORD}){{0,2}}))"
)
# "convention on the rights of the child", "convention on biological diversity"
_ON_NAME = re.compile(rf"\s+on\s+(?:the\s+)?{_WORD}(?:\s+(?:of\s+(?:the\s+)?)?{_WORD}){{0,4}}")
_ON_WORD = re.compile(_WORD)
# "Treaty on the Final Settlement with Respect to Germany": words in title case after "on"
_ON_TITLE = re.compile(
    rf"\s+on\s+(?:the\s+)?(?P<first>{_NAME_WORD})"
    rf"(?:(?:\s+(?:of|the|with|to|and|on|for|in)){{0,2}}\s+{_NAME_WORD}){{0,8}}"
)
# After a name in lower case: a digit, a mark, the end of the text, or a word that is no name.
_AFTER_NAME = re.compile(r"\s*(?:$|[^\w\s]|\d|(?P<word>[\w'’-]+))", re.MULTILINE)
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
    previous earlier later separate year years month months week weeks day days w
    obey obeys honour honor respect makes ends own""".split()
)
# Verbs in the past tense that do not end in "-ed": never part of a name.
_VERBS = frozenset(
    """gave made set split let took brought left lost won put saw meant kept began became came
    went held led paid sold told built broke drew fell forbade fought bound got ran rose sent
    stood struck swore threw tore wrote drove gives makes sets ends""".split()
)
# "trade agreement", "peace accord": an agreement needs a word that names it.
_GENERIC = frozenset(
    """trade peace border ceasefire formal informal verbal written final bilateral
    multilateral economic military naval loan credit arms general interim draft""".split()
)
# "a harsh treaty", "a peace treaty", "a defensive pact": words that describe, not name, one
_VAGUE = frozenset(
    """harsh humiliating unequal unfair punitive lenient generous peace defensive offensive
    formal informal final draft interim bilateral multilateral space nuclear""".split()
)
# Conventions that are assemblies, and protocols that are procedures: "the national
# convention", "a party convention", "diplomatic protocol", "a safety protocol".
_NOT_AGREEMENT = _GENERIC | frozenset(
    """national constitutional party democratic republican labour labor conservative liberal
    annual state federal political nominating special constituent diplomatic safety security
    strict standard usual official experimental clinical medical testing internet network
    communication royal court social naming""".split()
)
# "a treaty of annexation", "of friendship": what a treaty is, in lower case, is not its name
_ABSTRACT = frozenset(
    "peace friendship alliance commerce trade annexation neutrality guarantee union silence".split()
)
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
_MAX_NAME_WORDS = 3
_LOOK_BACK = 100  # characters before "treaty" that may hold its name
_LONGEST_WORD = 60


def _treaty_at(text: str, start: int, end: int) -> Span | None:
    """The treaty named around the keyword at ``text[start:end]``, if it has a name."""
    keyword = text[start:end]
    lower = keyword.lower()
    if text.startswith(("-", "–"), end):  # "treaty-making"
        return None
    lo = max(0, start - _LOOK_BACK, text.rfind(_SEPARATOR, 0, start) + 1)  # this text only
    joins = (lower.endswith("s") and lower != "accords") or keyword[0].isupper()
    tokens = text[lo:start].split()  # the words before the keyword, in this text
    names = _named_before(text, lo, start, tokens, joins)
    named_after = _named_after(text, end, keyword, tokens[-1:])
    if named_after:
        if text.endswith(("'s", "’s"), 0, named_after):  # "the Treaty of Versailles's terms"
            named_after -= 2
        # "the final treaty of paris": words that describe it are no part of its name
        while names and names[-1][1].lower() in _VAGUE | _STOP:
            names.pop()
        end = named_after
    elif not names or not _names_it([word for _, word in names], keyword):
        return None  # "the treaty", "a harsh treaty", "a trade agreement": nothing names it
    elif _a_kind_of(text, lo, names[-1][0]):
        return None  # "a 10-year non-aggression pact": one of a kind, not one by name
    elif lower.startswith("convention") and _MEETING.search(
        text, lo, min(end + _LOOK_BACK, _end_of_text(text, end))
    ):
        return None  # "the Hartford Convention met": an assembly
    return Span(names[-1][0] if names else start, end, "treaty")


def _end_of_text(text: str, at: int) -> int:
    """Where the text that *at* is in ends, among texts joined by ``_SEPARATOR``."""
    end = text.find(_SEPARATOR, at)
    return len(text) if end < 0 else end


def _a_kind_of(text: str, lo: int, start: int) -> bool:
    """Whether "a" or "an" comes before the name at *start* (numbers aside: "a 10-year")."""
    for token in reversed(text[lo:start].split()[-3:]):
        if not any(c.isdigit() for c in token):
            return token.lower() in ("a", "an")
    return False


def _named_before(
    text: str, lo: int, start: int, words: list[str], joins: bool
) -> list[tuple[int, str]]:
    """The words (of *words*, those of ``text[lo:start]``) before the keyword at *start*
    that may name it, read backwards from it while they do, as (where, word); with *joins*,
    "and" between capitalised words too ("the Jay and Pinckney treaties", "the Boundary and
    Friendship Treaty")."""
    names: list[tuple[int, str]] = []
    if start == 0 or not text[start - 1].isspace():
        return names
    tokens = words[-(_MAX_NAME_WORDS + 2) :]
    for i, token in enumerate(reversed(tokens)):
        word = _WORD_END.search(token)
        if word is None or len(names) == _MAX_NAME_WORDS:
            break
        folded = word.group().lower()
        if folded == "and" and joins and names and names[-1][1][0].isupper():
            before = tokens[-i - 2] if i + 2 <= len(tokens) else ""
            if before[:1].isupper():
                start = text.rfind(token, lo, start)
                continue
        if folded in _STOP or (folded.endswith("ed") and word.group().islower()):
            break
        start = text.rfind(token, lo, start) + word.start()
        names.append((start, word.group()))
        if word.start() > 0:  # "(rapallo treaty": the name starts after the bracket
            break
    return names


# "the Hartford Convention met", "delegates at the convention"
_MEETING = re.compile(
    r"\b(?:met|meets|held|delegates|gathered|attended|nominated|adjourned|drafted|debated"
    r"|voted|wrote|demanded)\b"
)
# "a US treaty", "an Indian treaty": a nation's adjective alone does not name one
_NATIONAL = re.compile(r"US|UK|USA|[A-Z][a-z]+(?:ican|ian|ese|ish)|French|Dutch|Greek|Swiss")


def _names_it(words: list[str], keyword: str) -> bool:
    """Whether *words* (read backwards from *keyword*) name the agreement, not describe it."""
    folded = [word.lower() for word in words]
    lower = keyword.lower()
    if _VAGUE.issuperset(folded):
        return False  # "a harsh treaty"
    if lower.endswith("s") and lower != "accords" and folded[0] in _VAGUE | _GENERIC:
        return False  # "arms treaties"
    if lower.startswith(("accord", "agreement")) and _GENERIC.issuperset(folded):
        return False  # "a trade agreement"
    if lower.startswith(("convention", "protocol")) and folded[0] in _NOT_AGREEMENT:
        return False  # "the national convention", "a safety protocol"
    if words[0].endswith(("'s", "’s")) and keyword.islower():
        return False  # "Wilson's treaty" (but "Jay's Treaty")
    # "a US treaty", "an Indian treaty", but "the Evian Accords"
    return not (len(words) == 1 and keyword.islower() and _NATIONAL.fullmatch(words[0]))


def _named_after(text: str, end: int, keyword: str, before: list[str]) -> int:
    """Where the name after *keyword*, ending at *end*, ends ("treaty of berlin"), or 0;
    *before* is the word before the keyword, if any."""
    title = _ON_TITLE.match(text, end) if keyword[0].isupper() else None
    if title and title.group("first").lower().rstrip(".") not in _MONTHS | _WEEKDAYS:
        return title.end()  # "Four Power Agreement on Berlin", not "... Treaty on June 24"
    keyword = keyword.lower()
    if keyword not in _OF_KEYWORDS:
        return 0
    # "the convention on ...", "the UN convention on ...", but not "by convention on sundays"
    named = before and (before[0].lower() == "the" or before[0][0].isupper())
    if keyword.startswith("convention") and named and (on := _named_on(text, end)):
        return on
    name = _OF_NAME.match(text, end)
    if name is None:
        return 0
    words = name.group().split()[1:]
    first = words[0].lower().rstrip(".")
    if first in _MONTHS or (name.group("lower") and first in _STOP | _ABSTRACT):
        return 0  # "the london treaty of may 1915", "a treaty of annexation"
    words = list(itertools.takewhile(lambda w: w.lower().rstrip(".") not in _MONTHS, words))
    if name.group("lower") is not None:
        return _lower_case_name(text, name.start("lower"), words)
    at = end  # "Treaty of Paris May 1814": as far as the month
    for word in words:
        at = text.index(word, at) + len(word)
    return at if words[-1].lower() not in _STOP else 0


def _named_on(text: str, end: int) -> int:
    """Where "on ..." after a convention ends, as far as a word that is no part of a name:
    "on the rights of the child" in "... of the child was signed", or 0."""
    on = _ON_NAME.match(text, end)
    at = end
    for part in _ON_WORD.finditer(text, end, on.end() if on else end):
        if part.group().lower() in _STOP - {"on", "of", "the"}:
            break
        if part.group().lower() not in ("on", "of", "the"):
            at = part.end()
    return at if at > end else 0


def _lower_case_name(text: str, start: int, words: list[str]) -> int:
    """Where a name in lower case that starts at *start* with *words* ends: as far as a word
    that cannot be part of a name follows it ("treaty of campo formio 1797", "... formio gave
    austria venice"); else its first word alone names it ("treaty of amiens brought a pause")."""
    for count in range(len(words), 0, -1):
        if count > 1 and any(_no_name(w) for w in words[:count]):
            continue
        at = start + len(" ".join(words[:count]))
        after = _AFTER_NAME.match(text, at)
        following = after.group("word") if after else None
        if count == 1 or following is None:
            return at
        if _no_name(following) and following.lower() not in _JOINING:
            return at
    return 0


# After these, words in lower case may still be going on: "treaty of tilsit napoleon and ..."
_JOINING = frozenset("and or but nor a an the".split())


def _no_name(word: str) -> bool:
    """A word in lower case that is no part of a name: "the", "signed", "gave"."""
    folded = word.lower()
    return folded in _STOP or folded in _VERBS or (folded.endswith("ed") and word.islower())


def _keywords(text: str) -> Iterator[tuple[int, int]]:
    """Where the keywords of agreements ("treaty", "pacts", ...) stand as whole words, in
    order."""
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
_NOT_ABBREVIATIONS = frozenset({"ToC", "ToU", "ToDO"})  # contents, use, todo


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
    glossary: tuple[tuple[Kind, re.Pattern[str]], ...]  # the glossary's terms of each kind
    ignore: re.Pattern[str]


# A date that starts with digits starts with three of them, or with a day and a space or dash,
# or with a number and an era ("44 BC"): at any other number (most are not dates) the pattern
# fails at once instead of trying every form of date.
_DIGITS_OF_A_DATE = (
    r"(?=[^0-9]|[0-9]{3}|[0-9]{1,2}(?:st|nd|rd|th|\.)?[\s\-–—]|[0-9]{1,2}[/.][0-9]"
    r"|[0-9]{1,4}\s?[a-z])"
)
# "1500 tanks", "c. 1300 guns", "1939-45 men": numbers of things, not years
_UNIT_AFTER = re.compile(rf"\s+(?:{_UNITS})\b", re.IGNORECASE)
_NUMBERS = re.compile(r"(?:(?:c\.|ca\.?|circa)\s?)?[0-9]+(?:\s*[-–—]\s*[0-9]+)?")
_DATES = re.compile(rf"{_DIGITS_OF_A_DATE}(?:{_BETWEEN}|(?P<date>{_DATE}))", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
# The date words a date can start with lie within this many characters of its first digit:
# up to four of them, "the twenty-seventh of september 1939" being the longest.
_DIGIT_WITHIN = 34
_OPENING = "([{\"'“‘"
# Words a date can start with before its first digit.
_DATE_WORDS = _MONTHS | frozenset(
    """spring summer autumn fall winter of between circa c ca ad a.d twenty thirty twentieth
    thirtieth""".split()
    + _ORDINALS
)
_DASHES = re.compile(r"[-–—]")


def _is_date_word(token: str) -> bool:
    """A word a date can start with, or words of them joined by dashes ("june-july")."""
    word = token.lstrip(_OPENING).rstrip(".,").lower()
    if word in _DATE_WORDS:
        return True
    words = _DASHES.split(word)
    return len(words) > 1 and all(part.rstrip(".") in _DATE_WORDS for part in words)


@functools.lru_cache(maxsize=32)
def _patterns(glossary: tuple[str | Term, ...], ignore: tuple[str, ...]) -> _Patterns:
    first: dict[str, tuple[Kind, str]] = {}  # each term's kind, its first entry winning
    for entry in glossary:
        term = entry if isinstance(entry, Term) else Term(term=entry)
        first.setdefault(term.term.strip().casefold(), (term.kind, term.term))
    by_kind: dict[Kind, list[str]] = defaultdict(list)
    for kind, text in first.values():
        by_kind[kind].append(text)
    return _Patterns(
        tuple((kind, re.compile(_terms(terms), re.IGNORECASE)) for kind, terms in by_kind.items()),
        re.compile(_terms(ignore), re.IGNORECASE),
    )


def _dates(text: str) -> Iterator[Span]:
    """The dates in *text*, in order.

    The date pattern is tried only where a date can start: at each run of digits, and at the
    date words just before it ("between september 1939", "winter of 1962", "c. 1800"). That
    is many times faster than searching the text with it, and finds the same dates.
    """
    found: list[tuple[re.Match[str], bool]] = []  # each date, and whether it may be a count
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
            if start < at and _named_after_a_month(text, date):
                continue  # "the Long March 1934-35": the years alone, from the digits
            end = date.end()
            if _NUMBERS.fullmatch(date.group()) and _UNIT_AFTER.match(text, end):
                break  # "1500 tanks"
            found.append((date, _may_be_count(text, date)))
            break
    starts = [date.start() for date, _ in found]
    for date, may_be_count in found:
        if not may_be_count or _dated_near(text, date, found, starts):
            group = date.lastgroup or 0
            yield Span(date.start(group), date.end(group), "date")


_MARCH_OR_MAY = re.compile(r"March|May")


def _named_after_a_month(text: str, date: re.Match[str]) -> bool:
    """Whether *date* starts with "March" or "May" that is part of a name: "the Long March
    1934-35", "Theresa May 2016-19" (a capitalised word before it, not "In" or "On")."""
    if not _MARCH_OR_MAY.match(date.group()):
        return False
    tokens = text[max(0, date.start() - _LONGEST_WORD) : date.start()].split()
    before = tokens[-1].rsplit(_SEPARATOR, 1)[-1] if tokens else ""
    return (
        before[:1].isupper()
        and before[-1].isalpha()  # "London, May 1921" is a date
        and before.lower() not in _YEAR_CONTEXT | {"on", "at"}
    )


def _words_before(text: str, lo: int, at: int) -> list[int]:
    """Where each of the date words just before *at* (and after *lo*) starts."""
    starts: list[int] = []
    for token in reversed(text[lo:at].split()[-4:]):
        if not _is_date_word(token):
            break
        at = text.rfind(token, lo, at)
        starts.append(at + len(token) - len(token.lstrip(_OPENING)))
    return starts[::-1]


def _candidates(
    text: str, patterns: _Patterns, kinds: Sequence[Kind]
) -> Iterator[tuple[bool, Span]]:
    """(from the glossary?, span) for each candidate deletion."""
    for kind, glossary in patterns.glossary:
        yield from ((True, Span(m.start(), m.end(), kind)) for m in glossary.finditer(text))
    if "treaty" in kinds:
        for start, end in _abbreviations(text):
            yield False, Span(start, end, "treaty")
        for start, end in _keywords(text):
            if (span := _treaty_at(text, start, end)) is not None:
                yield False, span
    if "date" in kinds:
        yield from ((False, span) for span in _dates(text))


# lower case only: "1945 Soviets took Berlin" starts with a year far more often than not
_PLURAL_AFTER = re.compile(r"\s+([a-z]{2,}s)\b")
# After "about" or "c.": "of", or a plural noun, perhaps after a word ("c. 3000 ottoman
# prisoners", "about 1100 Native Americans"); "around 1750 the revolution began" is a year.
_COUNTED_AFTER = re.compile(r"\s+(?:of\b|(?:[A-Za-z]+\s+)?([A-Za-z]{2,}s)\b)")
_NOT_PLURAL = frozenset("was has is as its his this thus onwards afterwards towards".split())
# "only 1200 were admitted", "1500 Germans were killed": a year is never "were"
_PLURAL_VERB_AFTER = re.compile(r"\s+(?:[A-Z][a-z]+s\s+)?(?:were|are|have|had)\b")
_MARKS = "([{\"'“‘”’)]}.,;:!?–—-=+&/"
# "the 1945 elections", "in 1930 strikes spread": after these words a year stays a year
_YEAR_CONTEXT = frozenset(
    "the in of since by from until till after before during early late mid between and or"
    " to its their his her".split()
)
# "only 1200", "nearly 3000": after these, a number is a count
_COUNT_WORDS = frozenset(
    "only nearly almost some over under just least than another more fewer".split()
)
# "about 1100", "c. 3000": a year or a count, as what follows says
_ABOUT = frozenset("about around roughly approximately".split())
_NUMBER = re.compile(r"(?:(?P<circa>c\.|ca\.?|circa)\s?)?([0-9]+)")
_YEAR_IN = re.compile(r"(?<![0-9])(1[0-9]{3}|20[0-9]{2})(?![0-9])")
_NEAR = 50  # years


def _may_be_count(text: str, m: re.Match[str]) -> bool:
    """A number read as a year (or "c. 1300") that reads as a count too: after "only" or
    "nearly" ("only 1200 came"), after "about" or "c." when "of" or a plural noun follows
    ("about 1100 of them", "c. 3000 ottoman prisoners"), before "were" ("1500 Germans were
    killed"), or before a plural noun unless it opens its bullet ("listed 1022 stars", but
    "1848 revolutions swept europe")."""
    number = _NUMBER.fullmatch(m.group())
    if number is None:
        return False
    if _PLURAL_VERB_AFTER.match(text, m.end()):
        return True
    before = _word_before(text, m.start())
    if before in _COUNT_WORDS:
        return True
    if number.group("circa") or before in _ABOUT:
        counted = _COUNTED_AFTER.match(text, m.end())
        return counted is not None and (counted.group(1) or "").lower() not in _NOT_PLURAL
    plural = _PLURAL_AFTER.match(text, m.end())
    opening = not text[text.rfind(_SEPARATOR, 0, m.start()) + 1 : m.start()].strip(_MARKS + " ")
    return (
        plural is not None
        and plural.group(1).lower() not in _NOT_PLURAL
        and before not in _YEAR_CONTEXT
        and not opening  # "1945 soviets took berlin": a bullet that opens with a year
    )


def _word_before(text: str, at: int) -> str:
    """The word before *at* in its text, in lower case, marks around it left out: "about"
    in "(about 1100", "harsher" in "harsher - 1790"."""
    for token in reversed(text[max(0, at - _LONGEST_WORD) : at].split()[-2:]):
        word = token.rsplit(_SEPARATOR, 1)[-1].strip(_MARKS)
        if word or _SEPARATOR in token:
            return word.lower()
    return ""


def _dated_near(
    text: str, m: re.Match[str], found: list[tuple[re.Match[str], bool]], starts: list[int]
) -> bool:
    """Whether the text of *m* holds another date (one that is no count) within ``_NEAR``
    years of its number: "harsher - 1790 frontiers" beside "20/11/1815" is a year. *found*
    are the dates of all the texts, and *starts* where each starts."""
    number = int(_NUMBER.fullmatch(m.group()).group(2))  # type: ignore[union-attr]
    lo = text.rfind(_SEPARATOR, 0, m.start()) + 1
    hi = text.find(_SEPARATOR, m.end()) % (len(text) + 1)
    return any(
        abs(int(year) - number) <= _NEAR
        for other, may_be_count in found[
            bisect.bisect_left(starts, lo) : bisect.bisect_left(starts, hi)
        ]
        if not may_be_count
        for year in _YEAR_IN.findall(other.group())
    )


def find(text: str, options: ClozeOptions = DEFAULT, marked: Marked = ()) -> list[Span]:
    """The deletions of *text*, in order, none overlapping another.

    The deletions the author *marked* come first (see marks.py), then glossary terms, then
    the dates and treaties found, of the kinds in ``options.kinds``: where two found overlap,
    the longer one wins (a date inside a treaty's name stays part of the treaty). Nothing
    but a marked deletion overlapping an ignored term is kept.
    """
    return find_all([text], options, [marked])[0]


# Joins texts scanned together: no text holds it, and no pattern reaches across it (it is not
# a word character, a digit or white space).
_SEPARATOR = "\x00"


def find_all(
    texts: Sequence[str], options: ClozeOptions = DEFAULT, marked: Sequence[Marked] = ()
) -> list[list[Span]]:
    """:func:`find` for each of *texts* (and its *marked* deletions, if given), much faster
    than one by one.

    The texts are joined and scanned as one, so that the regular expressions run once over
    the whole deck instead of once per bullet.
    """
    joined = _SEPARATOR.join(texts)
    terms = (*(t if isinstance(t, str) else t.term for t in options.glossary), *options.ignore)
    if len(texts) > 1 and (
        joined.count(_SEPARATOR) != len(texts) - 1 or any(_SEPARATOR in t for t in terms)
    ):
        every = marked or [()] * len(texts)
        return [find_all([t], options, [m])[0] for t, m in zip(texts, every, strict=True)]
    offsets = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
    patterns = _patterns(options.glossary, options.ignore)
    # (rank, span): marked 0, glossary 1, found 2
    candidates: dict[int, list[tuple[int, Span]]] = defaultdict(list)
    for i, mine in enumerate(marked):
        if mine:  # few texts
            candidates[i] = [(0, Span(start, end, "marked")) for start, end in mine]
    for from_glossary, span in _candidates(joined, patterns, options.kinds):
        i = bisect.bisect_right(offsets, span.start) - 1
        start, end = span.start - offsets[i], span.end - offsets[i]
        candidates[i].append((1 if from_glossary else 2, Span(start, end, span.kind)))
    blocked: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for m in patterns.ignore.finditer(joined) if options.ignore else ():
        i = bisect.bisect_right(offsets, m.start()) - 1
        blocked[i].append((m.start() - offsets[i], m.end() - offsets[i]))
    found: list[list[Span]] = [[] for _ in texts]
    for i, spans in candidates.items():
        found[i] = _choose(spans, blocked.get(i, []))
    return found


def _choose(candidates: list[tuple[int, Span]], blocked: list[tuple[int, int]]) -> list[Span]:
    if len(candidates) == 1 and not blocked:  # most texts: nothing to choose between
        return [candidates[0][1]]
    chosen: list[Span] = []  # in order of start, none overlapping another
    for rank, span in sorted(candidates, key=lambda c: (c[0], c[1].start - c[1].end, c[1])):
        if rank and _overlaps(span, blocked):
            continue
        at = bisect.bisect_left(chosen, span)
        before = chosen[at - 1] if at else None
        after = chosen[at] if at < len(chosen) else None
        if (before is None or before.end <= span.start) and (
            after is None or span.end <= after.start
        ):
            chosen.insert(at, span)
    return chosen


def _overlaps(span: Span, blocked: list[tuple[int, int]]) -> bool:
    return any(span.end > start and span.start < end for start, end in blocked)


_UNSAFE = re.compile(r"[&<>{}\[\\\n]")
# "[" as an entity: Anki reads no [sound:...], [latex], [$], [anki:tts] in it
_ENTITIES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("{", "&#123;"),
    ("}", "&#125;"),
    ("[", "&#91;"),
)
# MathJax's delimiters \( \) \[ \]: an empty element between the backslash and the bracket
# keeps them apart, as MathJax reads a card's text
_MATHJAX = re.compile(r"\\(?=[()\]]|&#91;)")
_APART = "<span></span>"


def escape(text: str) -> str:
    """HTML for *text* that Anki shows as typed and never reads as markup: not HTML, not cloze
    or template syntax, not sounds, LaTeX, MathJax or speech."""
    for char, entity in _ENTITIES:  # "&" first; most texts hold none of these
        if char in text:
            text = text.replace(char, entity)
    if "\\" in text:
        text = _MATHJAX.sub(lambda m: "\\" + _APART, text)
    return text.replace("\n", "<br>") if "\n" in text else text


def escape_all(texts: Sequence[str]) -> list[str]:
    """:func:`escape` for each of *texts*, all at once (much faster than one by one)."""
    escaped = escape(_SEPARATOR.join(texts)).split(_SEPARATOR)
    return escaped if len(escaped) == len(texts) else [escape(text) for text in texts]


Formatted = Sequence[tuple[int, int, str, str]]  # (start, end, opening tag, closing tag)


def mark(text: str, spans: Sequence[Span], numbers: Sequence[int], formats: Formatted = ()) -> str:
    """The cloze field for *text*: each of *spans* a deletion of the card its number names,
    ``{{c1::...}}``, ``{{c2::...}}`` (the same number twice: one card hides both), and each of
    *formats* (see formats.py) its text between its tags. A deletion and a format nest: one
    holds the other, or they are apart."""
    quote = escape if _UNSAFE.search(text) else str  # most texts have nothing to escape
    # every tag, in the order written: at one place, what closes before what opens, the inner
    # closing first and the outer opening first (a format outside a deletion of its extent:
    # the answer is the text alone)
    tags = [
        tag
        for number, span in zip(numbers, spans, strict=True)
        for tag in (
            (span.start, 1, -span.end, 1, f"{{{{c{number}::"),
            (span.end, 0, -span.start, 0, "}}"),
        )
    ]
    # formats of one extent: the first opens first and closes last ("***both***")
    tags += [
        tag
        for i, (start, end, opening, closing) in enumerate(formats)
        for tag in (
            (start, 1, -end, i - len(formats), opening),
            (end, 0, -start, len(formats) - i, closing),
        )
    ]
    out: list[str] = []
    pos = depth = 0  # depth: the deletions open here
    for at, opens, _, _, tag in sorted(tags) if formats else tags:  # spans come in order
        piece = quote(text[pos:at])
        cloze_tag = tag.startswith(("{{", "}}"))
        written = tag
        # "::" inside a deletion would start a hint, in a link's address too: an entity keeps
        # it literal
        if depth:
            piece = piece.replace(":", "&#58;")
            written = tag if cloze_tag else tag.replace(":", "&#58;")
        out += [piece, written]
        depth += (1 if opens else -1) * cloze_tag
        pos = at
    out.append(quote(text[pos:]))
    return "".join(out)


_TAG = re.compile(r"<[^>]*>")
# a deletion as Anki's cloze syntax writes it: its number and its text
DELETION = re.compile(r"\{\{c(\d+)::(.*?)\}\}", re.DOTALL)


def unescape(html_text: str) -> str:
    """The text that :func:`escape` made *html_text* of."""
    # no tag but deckforge's own: line breaks, formatting (Markdown), <span></span>
    return html.unescape(_TAG.sub("", html_text.replace("<br>", "\n")))


def unmark(field: str) -> tuple[str, list[tuple[str, int]]]:
    """The text of a cloze field that :func:`mark` wrote, and its deletions as (text, number)."""
    pieces: list[str] = []
    deletions: list[tuple[str, int]] = []
    pos = 0
    for m in DELETION.finditer(field):
        answer = unescape(m.group(2))
        pieces += [unescape(field[pos : m.start()]), answer]
        deletions.append((answer, int(m.group(1))))
        pos = m.end()
    pieces.append(unescape(field[pos:]))
    return "".join(pieces), deletions
