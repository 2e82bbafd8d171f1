"""Starting a deck: a commented ``cards.toml`` to fill in (``deckforge init``), or notes kept as
an outline (a flashcard site's export, or Markdown) written as one (``deckforge import outline``).

Accepted: a first line naming the deck (plain, or a ``#`` heading), an optional ``Cards (N)``
line, then topics with their facts, either as bullets (``•``, ``-``, ``*``, ``◦``, or numbered,
``1.``) with the facts indented deeper than the topics, or as ``##`` headings with bullets under
them. A bullet deeper than a fact is a sub-point of it, kept in the fact on a line of its own;
a line that is no bullet, at least as deep as the facts, is a fact wrapped onto it. Text is kept
as written, Markdown emphasis included. Every line is placed or reported: nothing is dropped
silently.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from importlib.resources import files as resources
from pathlib import Path

from .errors import DeckforgeError, Problem, SourceError
from .files import write_bytes
from .marks import escape
from .schema import CONTROL, Card, Deck, Source, json_schema
from .source import dumps

# a bullet, or an item of a numbered list ("1.", "2)")
_MONTH = "(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"  # "9. November 1918": a date
_BULLET = re.compile(
    rf"^(?P<indent>[ \t]*)(?P<marker>[•◦‣▪·*+-]|[0-9]{{1,3}}[.)](?![ \t]+{_MONTH}\w*\b))"
    r"[ \t]+(?P<text>.*?)\s*$"
)
# how a sub-point of a fact is written into the fact, on a line of its own
SUB_POINT = "\n– "
_HEADING = re.compile(r"^(?P<level>#{1,6})[ \t]+(?P<text>.*?)[ \t#]*$")
_COUNT = re.compile(r"^\s*cards\s*\((?P<count>\d{1,9})\)\s*$", re.IGNORECASE)
# Lines that flashcard sites put around a copied deck; skipped, and said so.
SITE_CHROME = frozenset({"see similar decks"})


@dataclass
class Topic:
    """A card as read from the outline: its title, bullets, and the line it starts on."""

    title: str
    lineno: int
    bullets: list[str] = field(default_factory=list)


@dataclass
class Outline:
    """What was read: the deck's name, its topics, the lines skipped on purpose, and what
    is worth a look but no mistake (``warnings``: the site's card count disagreeing)."""

    name: str
    topics: list[Topic]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def to_toml(self) -> str:
        """The outline as a ``cards.toml``, one card per ``[[cards]]`` table, bullets one a line."""
        # not validated: `deckforge check` then reports what the deck's rules do not allow
        source = Source.model_construct(
            deck=Deck.model_construct(name=self.name),
            cards=tuple(
                # an outline's braces are text: "{{" would otherwise mark a deletion
                Card.model_construct(title=t.title, bullets=tuple(map(escape, t.bullets)))
                for t in self.topics
            ),
        )
        return dumps(
            source, "Made by `deckforge import outline`; edit freely, then `deckforge build`."
        )


def _width(line: str) -> int:
    """Indentation of *line*, tabs counted as four spaces."""
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


class _Reader:
    """Places each line of an outline: deck name, count, topic, fact, wrapped text, or error."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.name: str | None = None
        self.stated: tuple[int, int] | None = None  # line and N of a "Cards (N)" line
        self.topics: list[Topic] = []
        self.skipped: list[tuple[int, str]] = []
        self.topic_indent: int | None = None  # None under a "##" heading: bullets are facts
        self.fact_indent: int | None = None

    def problem(self, lineno: int, line: str, msg: str) -> None:
        column = len(line) - len(line.lstrip()) + 1
        self.problems.append(Problem(self.path, lineno, column, "", msg))

    def line(self, lineno: int, line: str) -> None:
        heading, bullet, count = _HEADING.match(line), _BULLET.match(line), _COUNT.match(line)
        if self.name is None:
            self.name = heading.group("text") if heading else line.strip()
            if bullet and not heading and not bullet.group("marker")[0].isdigit():
                self.problem(lineno, line, "the first line must name the deck, not be a bullet")
        elif count:
            self.stated = (lineno, int(count.group("count")))
        elif heading and len(heading.group("level")) == 1:
            self.problem(lineno, line, "a second deck name: one outline makes one deck")
        elif heading:
            self.topics.append(Topic(heading.group("text"), lineno))
            self.topic_indent = self.fact_indent = None
        elif bullet:
            self.bullet(lineno, line, _width(line), bullet.group("text"))
        elif line.strip().casefold() in SITE_CHROME:
            self.skipped.append((lineno, line.strip()))
        elif self.topics and self.topics[-1].bullets and _width(line) >= (self.fact_indent or 0):
            self.topics[-1].bullets[-1] += " " + line.strip()  # a long fact wrapped in two
        else:
            self.problem(lineno, line, f"cannot place {line.strip()!r}: not a topic or a bullet")

    def bullet(self, lineno: int, line: str, width: int, text: str) -> None:
        under_heading = bool(self.topics) and self.topic_indent is None
        control = CONTROL.search(text)
        if not text:
            self.problem(lineno, line, "an empty bullet")
        elif control:
            self.problem(lineno, line, f"holds the control character U+{ord(control.group()):04X}")
        elif not under_heading and (self.topic_indent is None or width == self.topic_indent):
            self.topics.append(Topic(text, lineno))
            self.topic_indent, self.fact_indent = width, None
        elif not under_heading and width < self.topic_indent:  # type: ignore[operator]
            self.problem(lineno, line, "indented less than the topics above it")
        elif self.fact_indent is None or width == self.fact_indent:
            if text in self.topics[-1].bullets:
                self.problem(lineno, line, "repeats a bullet of the same topic word for word")
            self.topics[-1].bullets.append(text)
            self.fact_indent = width
        elif width > self.fact_indent:  # a sub-point: kept with its fact, a line of its own
            self.topics[-1].bullets[-1] += SUB_POINT + text
        else:
            self.problem(lineno, line, "indented as neither a topic nor a fact")

    def outline(self) -> Outline:
        if self.name is None:
            self.problems.append(Problem(self.path, 1, 1, "", "empty: no deck name, no topics"))
        elif not self.topics:
            self.problems.append(Problem(self.path, 1, 1, "", "names a deck but holds no topics"))
        for topic in self.topics:
            if not topic.bullets:
                msg = f"topic {topic.title!r} has no bullets"
                self.problems.append(Problem(self.path, topic.lineno, 1, "", msg))
        warnings = []
        if self.stated and self.stated[1] != len(self.topics):  # the site's line, not the user's
            msg = f"says Cards ({self.stated[1]}) but has {len(self.topics)} topics; all are read"
            warnings.append(Problem(self.path, self.stated[0], 1, "", msg))
        if self.problems or self.name is None:
            raise SourceError(self.problems)
        return Outline(self.name, self.topics, self.skipped, warnings)


def init(folder: str | os.PathLike[str] = ".") -> list[Path]:
    """Start a deck in *folder*: a commented ``cards.toml`` and its JSON Schema (for editors).
    Never replaces a file; returns the files written."""
    targets = {
        Path(folder, "cards.toml"): resources("deckforge").joinpath("starter.toml").read_bytes(),
        Path(folder, "cards.schema.json"): (json.dumps(json_schema(), indent=2) + "\n").encode(),
    }
    for target in targets:
        if target.exists():
            raise DeckforgeError(f"{target} already exists; init never replaces a file")
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DeckforgeError(f"cannot write to {folder}: {e.strerror or e}") from None
    for target, data in targets.items():
        write_bytes(target, data)
    return list(targets)


def import_outline(
    path: str | os.PathLike[str], output: str | os.PathLike[str] | None, *, force: bool = False
) -> Outline:
    """Read the outline file at *path* and write it as the ``cards.toml`` *output* (with
    ``None``, write nothing); an existing *output* is replaced only with *force*."""
    outline = read(path)
    if output is not None:
        target = Path(output)
        if target.exists() and not force:
            raise DeckforgeError(f"{target} already exists; use --force to replace it")
        write_bytes(target, outline.to_toml().encode("utf-8"))
    return outline


def parse(text: str, path: str = "<string>") -> Outline:
    """Read an outline; raise :class:`SourceError` listing every line that cannot be placed."""
    reader = _Reader(path)
    # split on newlines alone: str.splitlines() would also split on U+2028 or a form feed
    # inside a fact, and number the lines differently from the user's editor
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if line.strip():
            reader.line(lineno, line)
    return reader.outline()


def read(path: str | os.PathLike[str]) -> Outline:
    """Read the outline file at *path*."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise SourceError([Problem(name, 0, 0, "", f"cannot read file: {e}")]) from None
    return parse(text, name)
