"""Where a key or value is written in TOML text: the line and column of each mistake.

tomli, which reads sources, keeps no positions; tree-sitter's TOML grammar keeps the position of
every key and value, so a source that does not fit the schema is parsed once more with it, and
each Pydantic error, addressed by its path in the data, is pointed at where it is written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import tomli
import tree_sitter
import tree_sitter_toml
from pydantic import BaseModel

from .errors import Problem
from .schema import CASES, Shared, Source

Loc = tuple[str | int, ...]

# a backslash that ends a line in a multi-line string: it, the line end and the white space
# after it read as nothing
_LINE_END = re.compile(r"\\[ \t]*\r?\n\s*")

_TOML_TYPES = {
    str: "a string",
    bool: "a boolean",  # before int: bool is a subclass of int
    int: "an integer",
    float: "a float",
    list: "an array",
    dict: "a table",
}


def _describe(value: object) -> str:
    return next((name for t, name in _TOML_TYPES.items() if isinstance(value, t)), "a date/time")


def _message(err: Mapping[str, Any], model: type[BaseModel], siblings: Iterable[str] | None) -> str:
    """What a Pydantic error *err* on *model* means, in the words of a ``cards.toml``;
    *siblings* are the keys beside an unknown one, when known."""
    kind, loc, value = err["type"], err["loc"], err["input"]
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden" and model is Shared and loc[0] in ("include", "deck", "cards"):
        # an included file holds shared [cloze] settings only
        return (
            "an included file cannot include others: list them all in the deck's own include"
            if loc[0] == "include"
            else f"an included file holds [cloze] settings only, not {loc[0]!r}"
        )
    if kind == "extra_forbidden":
        known = [k for k in siblings or () if k != loc[-1]]
        msg = f"unknown key {loc[-1]!r}"
        allowed = _allowed_keys(model, loc[:-1]) or known
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        return f"{msg} (did you mean {close[0]!r}?)" if close else msg
    if kind == "string_type":
        return f"expected a string, got {_describe(value)}"
    if kind in ("tuple_type", "list_type"):
        if loc == ("cards",) and isinstance(value, dict):
            return "expected an array, got a table (write [[cards]], in double brackets, per card)"
        return f"expected an array, got {_describe(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a table, got {_describe(value)}"
    if kind == "union_tag_not_found":  # a glossary entry
        return f"expected a string or a table, got {_describe(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "literal_error":
        return f"must be {err['ctx']['expected']}, not {value!r}"
    if kind == "bool_type":
        return f"expected true or false, got {_describe(value)}"
    return str(err["msg"])


def _allowed_keys(model: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The keys *model* allows at *loc* (a path into its data)."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _model_in(annotation: Any) -> Any:
    """The model *annotation* is, or holds: ``Card`` in ``tuple[Card, ...]``, ``Term`` in a
    glossary entry (a string or a ``Term``)."""
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()) + getattr(annotation, "__metadata__", ()):
        if (model := _model_in(arg)) is not None:
            return model
    return None


class Locator:
    """Positions of keys and values in TOML text, addressed by their path in the parsed data."""

    def __init__(
        self, text: str, data: Mapping[str, Any] | None = None, model: type[BaseModel] = Source
    ) -> None:
        self.data = data or {}
        self.model = model
        self.src = text.encode("utf-8")
        self.lines = self.src.split(b"\n")
        # path -> (line, column) of its key (or table header), and of its value
        self.keys: dict[Loc, tuple[int, int]] = {}
        self.values: dict[Loc, tuple[int, int]] = {}
        self.sections: list[tuple[int, Loc]] = []  # (row of header, table path)
        self.strings: dict[Loc, int] = {}  # path -> byte offset of a string value
        # keys and tables written twice: (path, where first, where again)
        self.repeated: list[tuple[Loc, tuple[int, int], tuple[int, int]]] = []
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_toml.language()))
        self._walk_document(parser.parse(self.src).root_node)

    # -- building the index ---------------------------------------------------------------

    def _pos(self, node: Any) -> tuple[int, int]:
        row, byte_col = node.start_point
        line = self.lines[row] if row < len(self.lines) else b""
        return row + 1, len(line[:byte_col].decode("utf-8", "replace")) + 1

    def _key(self, node: Any) -> list[str]:
        """The parts of a key: "a.b.c" is ["a", "b", "c"] (walked without recursion: a dotted
        key may have hundreds of parts)."""
        parts: list[str] = []
        stack = [node]
        while stack:
            node = stack.pop()
            if node.type == "dotted_key":
                stack += reversed(node.named_children)
                continue
            text = self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")
            try:
                parts += list(tomli.loads(f"{text} = 0")) if node.type == "quoted_key" else [text]
            except tomli.TOMLDecodeError:
                parts.append(text)
        return parts

    def _walk_document(self, root: Any) -> None:
        arrays: dict[Loc, int] = {}  # array-of-tables path -> elements seen so far
        for node in root.named_children:
            if node.type in ("table", "table_array_element"):
                header = node.named_children[0]
                segments = self._key(header)
                table = (*self._resolve(segments[:-1], arrays), segments[-1])
                for end in range(1, len(table)):  # "[clozee.x]" writes the table "clozee"
                    self.keys.setdefault(table[:end], self._pos(node))
                if node.type == "table_array_element":
                    arrays[table] = arrays.get(table, 0) + 1
                    self.keys.setdefault(table, self._pos(node))  # the array, at its first
                    table += (arrays[table] - 1,)
                elif table in self.keys:  # "[deck]" twice
                    self.repeated.append((table, self.keys[table], self._pos(node)))
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
        if path in self.keys:
            self.repeated.append((path, self.keys[path], self._pos(key)))
        self.keys[path] = self._pos(key)
        self._walk_value(value, path)

    def _walk_value(self, node: Any, path: Loc) -> None:
        self.values[path] = self._pos(node)
        if node.type == "string":
            self.strings[path] = node.start_byte
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
        if loc[:2] == ("cloze", "glossary") and len(loc) > 3 and loc[3] in CASES:
            loc = loc[:3] + loc[4:]  # the case of a glossary entry: a string or a table
        err = {**err, "loc": loc}
        kind = err["type"]
        parent, siblings = self._parent(loc)
        if kind == "missing":
            lineno, colno = self.position(parent)
        elif kind == "extra_forbidden":
            lineno, colno = self.position(loc, key=True)
        elif kind == "mark" and loc in self.strings:  # at the mark, inside the string
            lineno, colno = self._in_string(self.strings[loc], err["ctx"]["offset"])
            parent = loc
        else:
            lineno, colno = self.position(loc)
            parent = loc
        return Problem(path, lineno, colno, self.where(parent), _message(err, self.model, siblings))

    def _in_string(self, start: int, offset: int) -> tuple[int, int]:
        """The line and column of character *offset* of the TOML string written at byte
        *start*: its escapes (``\\u00e9``, ``\\"``), line ends (``\\r\\n`` one character)
        and line-ending backslashes taken as TOML reads them."""
        text = self.src[start:].decode("utf-8", "replace")
        quotes = 3 if text[:3] in ('"""', "'''") else 1
        i = quotes
        if quotes == 3:  # a line end right after the opening quotes is no part of the string
            i += 2 if text.startswith("\r\n", i) else int(text.startswith("\n", i))
        basic = text[0] == '"'
        read = 0
        while read < offset and i < len(text):
            if basic and (line_end := _LINE_END.match(text, i)):
                i = line_end.end()  # reads as nothing
                continue
            if basic and text[i] == "\\":
                i += {"u": 6, "U": 10}.get(text[i + 1 : i + 2], 2)
            else:
                i += 2 if text.startswith("\r\n", i) else 1
            read += 1
        while basic and (line_end := _LINE_END.match(text, i)):  # the mark comes after it
            i = line_end.end()
        # the characters of the file up to there: their lines, and the last one's length
        before = self.src[:start].decode("utf-8", "replace") + text[: min(i, len(text))]
        return before.count("\n") + 1, len(before) - before.rfind("\n")

    def _parent(self, loc: Loc) -> tuple[Loc, Mapping[str, Any] | None]:
        value: Any = self.data
        for part in loc[:-1]:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return loc[:-1], None
        return loc[:-1], value if isinstance(value, dict) else None
