"""Read a ``cards.toml`` into a :class:`~deckforge.schema.Source`, locating every mistake.

TOML is parsed by rtoml (Rust, several times faster than a Python parser on a large deck). A file
it rejects, or one it would read differently, is parsed by tomli (the stdlib's ``tomllib``, as
released on its own and kept up to date), whose error, with line and column, is the one
reported: what deckforge accepts, and how it reads it, is tomli's. When the data does not fit
the schema, the file is parsed once more with tree-sitter's TOML grammar, which keeps the
position of every key and value, to point at each problem.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any, TypeVar

import rtoml
import tomli
from pydantic import BaseModel, ValidationError

from .errors import Problem, SourceError
from .schema import Shared, Source, repeats

Loc = tuple[str | int, ...]
# The largest source read: 100,000 bullets take about 15 MiB.
MAX_SOURCE_BYTES = 32 * 2**20
M = TypeVar("M", bound=BaseModel)

_TOML_TYPES = {
    str: "a string",
    bool: "a boolean",  # before int: bool is a subclass of int
    int: "an integer",
    float: "a float",
    list: "an array",
    dict: "a table",
}


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
    problems = [_Locator(text, data).problem(path, err) for err in missing] if missing else []
    shared: list[Shared] = []
    for index, name in enumerate(source.include):
        included = os.fspath(folder / name)
        if not any(err["loc"] == ("include", index) for err in missing):
            try:
                shared.append(_parse(_read(included), included, Shared)[0])
            except SourceError as e:
                problems += e.problems
    if problems:
        raise SourceError(problems)
    for settings in reversed(shared):  # a later include wins over an earlier one
        source = source.with_shared(settings)
    return source


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
    return found


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
    except OSError as e:
        raise SourceError([Problem(path, 0, 0, "", f"cannot read file: {e.strerror}")]) from None


def _parse(text: str, path: str, model: type[M]) -> tuple[M, dict[str, Any]]:
    try:
        data = _toml(text)
    except tomli.TOMLDecodeError as e:
        where = _Locator(text).section_at(e.lineno - 1)
        raise SourceError([Problem(path, e.lineno, e.colno, where, e.msg)]) from None
    except RecursionError as e:  # tomli's own limit on nesting, raised without a position
        raise SourceError([Problem(path, 1, 1, "", f"{e}; a deck needs no such nesting")]) from None
    try:
        return model.model_validate(data), data
    except ValidationError as e:
        locator = _Locator(text, data)
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


def _toml(text: str) -> dict[str, Any]:
    # rtoml reads two things otherwise than tomli: a second byte order mark (tomli refuses it),
    # and the \r of a Windows line end inside a multi-line string (tomli drops it)
    if not text.startswith("\ufeff") and "\r" not in text:
        try:
            return rtoml.loads(text)
        except ValueError:  # a mistake, or text it cannot encode (a lone surrogate)
            pass
    return tomli.loads(text)


def _missing_files(source: Source, folder: Path) -> list[dict[str, Any]]:
    """Images and included files that are not files inside the source's folder."""
    named = [(("include", i), name) for i, name in enumerate(source.include)] + [
        (("cards", c, "images", i), name)
        for c, card in enumerate(source.cards)
        for i, name in enumerate(card.images)
    ]
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


def _describe(value: object) -> str:
    return next((name for t, name in _TOML_TYPES.items() if isinstance(value, t)), "a date/time")


def _message(err: Mapping[str, Any], siblings: Mapping[str, Any] | None) -> str:
    kind, loc, value = err["type"], err["loc"], err["input"]
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden":
        known = [k for k in siblings or () if k != loc[-1]]
        msg = f"unknown key {loc[-1]!r}"
        close = difflib.get_close_matches(str(loc[-1]), _allowed_keys(loc[:-1]) or known, n=1)
        return f"{msg} (did you mean {close[0]!r}?)" if close else msg
    if kind == "string_type":
        return f"expected a string, got {_describe(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected an array, got {_describe(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a table, got {_describe(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "literal_error":
        return f"must be {err['ctx']['expected']}, not {value!r}"
    if kind == "bool_type":
        return f"expected true or false, got {_describe(value)}"
    return str(err["msg"])


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the schema allows at *loc* (a path into the data)."""
    model: Any = Source
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if hasattr(a, "model_fields")), None)
        if model is None:
            return []
    return list(model.model_fields)


class _Locator:
    """Positions of keys and values in TOML text, addressed by their path in the parsed data."""

    def __init__(self, text: str, data: Mapping[str, Any] | None = None) -> None:
        import tree_sitter
        import tree_sitter_toml

        self.data = data or {}
        self.src = text.encode("utf-8")
        self.lines = self.src.split(b"\n")
        # path -> (line, column) of its key (or table header), and of its value
        self.keys: dict[Loc, tuple[int, int]] = {}
        self.values: dict[Loc, tuple[int, int]] = {}
        self.sections: list[tuple[int, Loc]] = []  # (row of header, table path)
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_toml.language()))
        self._walk_document(parser.parse(self.src).root_node)

    # -- building the index ---------------------------------------------------------------

    def _pos(self, node: Any) -> tuple[int, int]:
        row, byte_col = node.start_point
        line = self.lines[row] if row < len(self.lines) else b""
        return row + 1, len(line[:byte_col].decode("utf-8", "replace")) + 1

    def _key(self, node: Any) -> list[str]:
        if node.type == "dotted_key":
            return [part for child in node.named_children for part in self._key(child)]
        text = self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")
        if node.type == "quoted_key":
            try:
                return list(tomli.loads(f"{text} = 0"))
            except tomli.TOMLDecodeError:
                return [text]
        return [text]

    def _walk_document(self, root: Any) -> None:
        arrays: dict[Loc, int] = {}  # array-of-tables path -> elements seen so far
        for node in root.named_children:
            if node.type in ("table", "table_array_element"):
                header = node.named_children[0]
                segments = self._key(header)
                table = (*self._resolve(segments[:-1], arrays), segments[-1])
                if node.type == "table_array_element":
                    arrays[table] = arrays.get(table, 0) + 1
                    self.keys.setdefault(table, self._pos(node))  # the array, at its first
                    table += (arrays[table] - 1,)
                self.keys.setdefault(table, self._pos(node))
                self.values.setdefault(table, self._pos(node))
                self.sections.append((node.start_point[0], table))
                for child in node.named_children[1:]:
                    self._walk_pair(child, table)
            else:
                self._walk_pair(node, ())

    @staticmethod
    def _resolve(segments: list[str], arrays: dict[Loc, int]) -> Loc:
        path: Loc = ()
        for segment in segments:
            path += (segment,)
            if path in arrays:
                path += (arrays[path] - 1,)
        return path

    def _walk_pair(self, node: Any, table: Loc) -> None:
        if node.type != "pair" or len(node.named_children) < 2:
            return
        key, value = node.named_children[0], node.named_children[1]
        segments = self._key(key)
        path = table + tuple(segments)
        for end in range(1, len(segments)):  # "deck.name = ..." also writes the table "deck"
            self.keys.setdefault(table + tuple(segments[:end]), self._pos(key))
            self.values.setdefault(table + tuple(segments[:end]), self._pos(key))
        self.keys[path] = self._pos(key)
        self._walk_value(value, path)

    def _walk_value(self, node: Any, path: Loc) -> None:
        self.values[path] = self._pos(node)
        if node.type == "array":
            items = [c for c in node.named_children if c.type != "comment"]
            for index, item in enumerate(items):
                self.keys[(*path, index)] = self._pos(item)
                self._walk_value(item, (*path, index))
        elif node.type == "inline_table":
            for child in node.named_children:
                self._walk_pair(child, path)

    # -- answering ------------------------------------------------------------------------

    def position(self, path: Loc, *, key: bool = False) -> tuple[int, int]:
        """Where *path* is written, or its nearest written ancestor (e.g. for a missing key)."""
        index = self.keys if key else self.values
        for end in range(len(path), 0, -1):
            if path[:end] in index:
                return index[path[:end]]
            if path[:end] in self.keys:
                return self.keys[path[:end]]
        return 1, 1

    def where(self, loc: Loc) -> str:
        """``cards[7] ("germany"): bullets[2]`` for the path ('cards', 7, 'bullets', 2)."""
        out = ""
        value: Any = self.data
        for part in loc:
            if isinstance(part, int):
                out += f"[{part}]"
                value = value[part] if isinstance(value, list) and part < len(value) else None
                title = value.get("title") if isinstance(value, dict) else None
                if isinstance(title, str) and title.strip():
                    out += f' ("{title}")'
            else:
                out += f": {part}" if out.endswith(")") else f".{part}" if out else part
                value = value.get(part) if isinstance(value, dict) else None
        return out

    def section_at(self, row: int) -> str:
        """Name of the table that contains 0-based *row* (for syntax errors)."""
        tables = [path for start, path in self.sections if start <= row]
        return self.where(tables[-1]) if tables else ""

    def problem(self, path: str, err: Mapping[str, Any]) -> Problem:
        loc: Loc = tuple(err["loc"])
        kind = err["type"]
        parent, siblings = self._parent(loc)
        if kind == "missing":
            lineno, colno = self.position(parent)
        elif kind == "extra_forbidden":
            lineno, colno = self.position(loc, key=True)
        else:
            lineno, colno = self.position(loc)
            parent = loc
        return Problem(path, lineno, colno, self.where(parent), _message(err, siblings))

    def _parent(self, loc: Loc) -> tuple[Loc, Mapping[str, Any] | None]:
        value: Any = self.data
        for part in loc[:-1]:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return loc[:-1], None
        return loc[:-1], value if isinstance(value, dict) else None
