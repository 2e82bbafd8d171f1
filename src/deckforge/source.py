"""Read ``cards.toml`` files into :class:`~deckforge.schema.Source` models, locating every mistake.

TOML is read by tomli. A mistake in the syntax is reported where tomli found it; data that does
not fit the schema is located by :mod:`deckforge.locate`, only then imported.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any, TypeVar

import tomli
from pydantic import BaseModel, ValidationError

from .errors import Problem, SourceError
from .schema import Shared, Source, repeats

# The largest source read: 100,000 bullets take about 15 MiB.
MAX_SOURCE_BYTES = 32 * 2**20
M = TypeVar("M", bound=BaseModel)


def load(path: str | os.PathLike[str]) -> Source:
    """Read and validate the source file at *path*; raise :class:`SourceError` on any mistake."""
    name = os.fspath(path)
    return loads(_read(name), name)


def loads(text: str, path: str = "<string>") -> Source:
    """Validate TOML *text*; *path* is the name errors are reported under, and the folder its
    images and included files are found in."""
    source, data = _parse(text, path, Source)
    folder = Path(path).parent
    missing = _missing_files(source, folder)
    problems = []
    if missing:
        from .locate import Locator

        locator = Locator(text, data)
        problems = [locator.problem(path, err) for err in missing]
    shared: list[Shared] = []
    itself = Path(path).resolve()
    seen = {itself}  # each file read once, and never the source itself
    for index, name in enumerate(source.include):
        if any(err["loc"] == ("include", index) for err in missing):
            continue
        included, real = os.fspath(folder / name), (folder / name).resolve()
        if real == itself:
            problems.append(_included(text, data, path, index, "a file cannot include itself"))
        elif real not in seen:  # listed twice: read once
            seen.add(real)
            try:
                shared.append(_parse(_read(included), included, Shared)[0])
            except SourceError as e:
                problems += e.problems
    if problems:
        raise SourceError(problems)
    for settings in reversed(shared):  # a later include wins over an earlier one
        source = source.with_shared(settings)
    return source


def load_all(paths: Iterable[str | os.PathLike[str]]) -> dict[Path, Source]:
    """Every source named by *paths* (files, or folders of them: see :func:`sources_in`),
    validated; the mistakes of every file are reported together, in one :class:`SourceError`."""
    loaded: dict[Path, Source] = {}
    problems: list[Problem] = []
    for path in sources_in(paths):
        try:
            loaded[path] = load(path)
        except SourceError as e:
            problems += e.problems
    if problems:
        raise SourceError(problems)
    return loaded


def dumps(source: Source, comment: str | None = None) -> str:
    """*source* as the text of a ``cards.toml`` (which :func:`loads` reads back as it is),
    under a first line of *comment*."""
    import tomlkit

    doc = tomlkit.document()
    if comment is not None:
        doc.add(tomlkit.comment(comment))
        doc.add(tomlkit.nl())
    if source.include:
        doc["include"] = list(source.include)
    doc["deck"] = source.deck.model_dump(exclude_defaults=True)
    if style := source.style.model_dump(exclude_defaults=True):
        doc["style"] = style
    options = source.cloze.model_dump(exclude_defaults=True)
    if options:
        doc["cloze"] = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    cards = tomlkit.aot()
    for card in source.cards:
        table = tomlkit.table()
        table.update({k: v for k, v in (("id", card.id), ("title", card.title)) if v is not None})
        if card.prompt is not None:
            table["prompt"] = card.prompt
        table["bullets"] = tomlkit.array().multiline(True)
        table["bullets"].extend(card.bullets)
        table.update({k: list(v) for k, v in (("tags", card.tags), ("images", card.images)) if v})
        cards.append(table)
    doc["cards"] = cards
    return tomlkit.dumps(doc)


def dump(source: Source, path: str | os.PathLike[str]) -> None:
    """Write *source* as the ``cards.toml`` at *path* (see :func:`dumps`), all at once."""
    from .files import write_bytes

    write_bytes(Path(path), dumps(source).encode("utf-8"))


def sources_in(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The source files named by *paths*: a folder stands for its ``*.toml`` files, except
    those whose name starts with ``_`` (shared settings to ``include``)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.toml") if not p.name.startswith("_"))
            if not inside:
                msg = "holds no deck: no *.toml file (but those starting with _, shared settings)"
                raise SourceError([Problem(os.fspath(path), 0, 0, "", msg)])
            found += inside
        else:
            found.append(path)
    return list(dict.fromkeys(found))  # each once, however often it is named


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_SOURCE_BYTES:
                msg = (
                    f"is {size / 2**20:.1f} MiB; deckforge reads sources of up to "
                    f"{MAX_SOURCE_BYTES // 2**20} MiB (split the deck into several files)"
                )
                raise SourceError([Problem(path, 0, 0, "", msg)])
            return _decode(f.read(), path)
    except FileNotFoundError as e:
        msg = f"cannot read file: {e.strerror}"
        if Path(path).name == "cards.toml":  # the deck not started yet (else, a typo)
            msg += " (start a deck with `deckforge init`, or `deckforge import outline NOTES`)"
        raise SourceError([Problem(path, 0, 0, "", msg)]) from None
    except OSError as e:
        raise SourceError([Problem(path, 0, 0, "", f"cannot read file: {e.strerror}")]) from None


def _parse(text: str, path: str, model: type[M]) -> tuple[M, dict[str, Any]]:
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as e:
        raise SourceError([_syntax(text, path, e)]) from None
    except RecursionError as e:  # tomli's own limit on nesting, raised without a position
        raise SourceError([Problem(path, 1, 1, "", f"{e}; a deck needs no such nesting")]) from None
    except ValueError:  # an integer longer than Python converts, raised without a position
        raise SourceError([_long_number(text, path)]) from None
    try:
        return model.model_validate(data), data
    except ValidationError as e:
        from .locate import Locator

        locator = Locator(text, data, model)
        # A list whose items all failed is also "too short" after validation: the items'
        # own errors say what is wrong. Repeats are found below, all of them, even when some
        # cards have other mistakes (pydantic stops at the first, and only checks valid cards).
        errors = [
            err
            for err in e.errors()
            if not (err["type"] == "too_short" and err["input"]) and err["type"] != "repeated"
        ]
        cards = data.get("cards") if model is Source else None
        if isinstance(cards, list):
            errors += [
                {"type": "repeat", "loc": ("cards", *loc), "msg": msg, "input": None}
                for loc, msg in repeats(cards)
            ]
        raise SourceError(locator.problem(path, err) for err in errors) from None


def _syntax(text: str, path: str, e: tomli.TOMLDecodeError) -> Problem:
    """The mistake in TOML syntax that tomli found, said the way a person would fix it."""
    from .locate import Locator

    locator = Locator(text)
    lineno, colno, msg = _reworded(text, e, locator.repeated)
    if lineno > text.count("\n") + (not text.endswith("\n")):  # after the end of the file
        lineno, colno = _position(text, len(text.rstrip()))
    if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in text.split("\n")):
        msg += " (git left conflict markers in the file: resolve the conflict first)"
    return Problem(path, lineno, colno, locator.section_at(lineno - 1), msg)


def _reworded(
    text: str, e: tomli.TOMLDecodeError, repeated: list[tuple[Any, Any, tuple[int, int]]]
) -> tuple[int, int, str]:
    """Where tomli's mistake is, and what it means: (line, column, message)."""
    msg, at = e.msg, text[e.pos : e.pos + 1]
    cards_hint = "; write [[cards]], in double brackets, above each card"
    if (msg == "Cannot overwrite a value" or msg.startswith("Cannot declare")) and repeated:
        path_of, (first, _), (lineno, colno) = repeated[0]  # written again
        said = f"{path_of[-1]!r} is set twice (first at line {first})"
        return lineno, colno, said + (cards_hint if path_of == ("cards",) else "")
    if msg.startswith("Cannot mutate immutable namespace"):  # "cards = []", then [[cards]]
        said = "this table was given its value above, where it was written whole"
        return e.lineno, e.colno, said + (cards_hint if "('cards',)" in msg else "")
    if msg == "Unclosed array":  # where the comma or the "]" should have been
        msg = "a ',' between two values, or the ']' that closes the array, is missing here"
        return (*_position(text, len(text[: e.pos].rstrip())), msg)
    if msg in ("Unterminated string", 'Expected "\'"') or (
        msg.startswith("Illegal character '\\n'") and any(q in _line(text, e.lineno) for q in "\"'")
    ):
        return (*_opening_quote(text, e), "this string is not closed: add its closing quote")
    if msg == "Invalid value" and at and at in "“”‘’":
        return (
            e.lineno,
            e.colno,
            "curly quotes: a string is written between straight quotes, \" or '",
        )
    if msg == "Invalid value" and at.isalpha():
        return e.lineno, e.colno, 'a text must be in quotes: "like this"'
    if msg == "Invalid hex value" or msg.startswith("Unescaped"):
        msg += " (a backslash starts an escape in \"...\": write \\\\ for one, or use '...')"
    return e.lineno, e.colno, msg


def _opening_quote(text: str, e: tomli.TOMLDecodeError) -> tuple[int, int]:
    """Where the string that is not closed at *e* opens."""
    if e.msg == "Unterminated string":  # multi-line
        opening = max(text.rfind('"""', 0, e.pos), text.rfind("'''", 0, e.pos))
        return _position(text, max(opening, 0))
    start = text.rfind("\n", 0, max(e.pos - 1, 0)) + 1  # the line it is on
    end = text.find("\n", start) % (len(text) + 1)
    opening, quote, at = start, "", start
    while at < end:  # the quotes of the line, in pairs: the one left open
        char = text[at]
        if not quote and char in "\"'":
            opening, quote = at, char
        elif not quote and char == "#":
            break
        elif quote == '"' and char == "\\":
            at += 1  # an escaped character
        elif char == quote:
            quote = ""
        at += 1
    return _position(text, opening)


def _position(text: str, offset: int) -> tuple[int, int]:
    """The line and column of character *offset* of *text*."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _line(text: str, lineno: int) -> str:
    lines = text.split("\n")
    return lines[lineno - 1] if 0 < lineno <= len(lines) else ""


def _included(text: str, data: dict[str, Any], path: str, index: int, msg: str) -> Problem:
    from .locate import Locator

    err = {"type": "include", "loc": ("include", index), "msg": msg, "input": None}
    return Locator(text, data).problem(path, err)


def _long_number(text: str, path: str) -> Problem:
    """Where the number too long to read is in *text*."""
    limit = sys.get_int_max_str_digits()
    found = re.search(rf"[0-9][0-9_]{{{limit},}}", text)
    if found is None:  # no such number to be found
        return Problem(path, 1, 1, "", "cannot read a value of this file")
    digits = sum(c.isdigit() for c in found.group())
    msg = f"a number {digits} digits long; the longest a deck can hold is {limit} digits"
    return Problem(path, *_position(text, found.start()), "", msg)


def _missing_files(source: Source, folder: Path) -> list[dict[str, Any]]:
    """Images and included files that are not files inside the source's folder."""
    styled = [(("style", "css"), source.style.css)] if source.style.css else []
    named = (
        styled
        + [(("include", i), name) for i, name in enumerate(source.include)]
        + [
            (("cards", c, "images", i), name)
            for c, card in enumerate(source.cards)
            for i, name in enumerate(card.images)
        ]
    )
    errors = []
    root = folder.resolve()
    for loc, name in named:
        try:
            target = (folder / name).resolve()
            if PurePath(name).is_absolute() or not target.is_relative_to(root):
                msg = f"{name!r} is outside the folder of the source; keep files beside it"
            elif not target.is_file():
                msg = f"no such file: {name!r} (relative to {folder.as_posix() or '.'})"
            else:
                continue
        except (OSError, ValueError) as e:  # a name too long for the file system, a NUL
            msg = f"cannot use {name!r} as a file name: {getattr(e, 'strerror', None) or e}"
        errors.append({"type": "file", "loc": loc, "msg": msg, "input": name})
    return errors


def _decode(raw: bytes, path: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        lineno = before.count(b"\n") + 1
        line = before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")
        msg = f"invalid UTF-8 byte 0x{raw[e.start]:02x}; save the file as UTF-8"
        raise SourceError([Problem(path, lineno, len(line) + 1, "", msg)]) from None
    # Editors on Windows may start a UTF-8 file with a byte order mark; TOML does not allow it.
    return text.removeprefix("\ufeff")
