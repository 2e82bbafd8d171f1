"""Properties over generated input, checked against the real Anki importer.

- any deck the models accept builds, and imports into Anki with no empty card and every
  bullet's text intact, as typed (through Anki's own field storage and card rendering);
- any bytes at all, given as a source file, give a deck or located errors, never a traceback;
- the lock file is the JSON ``json.dumps`` writes, and reads back as it was;
- a text is refused exactly when it holds a control character.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import deckforge
from deckforge import Card, Deck, Source, SourceError, marks
from deckforge.identity import MAX_MOD, Lock, LockedNote, dump_lock, read_lock
from deckforge.schema import CONTROL

from .conftest import hostile_text, import_package

TEXT = hostile_text(min_pieces=1, max_pieces=6)
TAG = st.from_regex(r"[A-Za-z0-9_:\-]{1,12}", fullmatch=True)
CARD = st.builds(
    lambda title, bullets, tags: {"title": title, "bullets": bullets, "tags": tags},
    TEXT,
    st.lists(TEXT, min_size=1, max_size=4, unique=True),
    st.lists(TAG, max_size=2),
)
counter = itertools.count()


@st.composite
def decks(draw: st.DrawFn) -> Source:
    cards = draw(st.lists(CARD, min_size=1, max_size=3))
    try:
        return Source(deck=Deck(name=f"Property {next(counter)}"), cards=[Card(**c) for c in cards])
    except ValidationError:
        assume(False)
        raise  # unreachable: assume(False) stops the example


@pytest.fixture(scope="module")
def anki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from anki.collection import Collection

    col = Collection(str(tmp_path_factory.mktemp("anki") / "collection.anki2"))
    yield col
    col.close()


def shown(field: str) -> str:
    """What a reader sees of a field's HTML."""
    return html.unescape(re.sub(r"<[^>]*>", "", field.replace("<br>", "\n")))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)  # Anki stores fields in NFC


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=decks())
def test_any_valid_deck_builds_and_imports_intact(
    anki: Any, source: Source, tmp_path_factory: pytest.TempPathFactory
) -> None:
    notes = deckforge.transform(source)
    package = tmp_path_factory.mktemp("p") / "deck.apkg"
    deckforge.export(source.deck, notes, package)
    log = import_package(anki, package)
    assert len(log.new) == len(notes)
    assert not log.conflicting
    assert not log.missing_notetype
    assert not log.missing_deck
    assert not log.empty_first_field
    by_guid = {anki.get_note(nid).guid: anki.get_note(nid) for nid in anki.find_notes("")}
    for note in notes:
        stored = by_guid[note.guid]
        card = source.cards[note.card]
        if note.kind == "qa":
            items = re.findall(r"<li>(.*?)</li>", stored["Facts"], re.DOTALL)
            # each bullet as typed, its marks ({{...}}, \\{{) read
            assert [shown(i) for i in items] == [nfc(marks.read(b)[0]) for b in card.bullets]
            assert shown(stored["Topic"]) == nfc(card.title)
        else:
            assert shown(re.sub(r"\{\{c\d+::(.*?)\}\}", r"\1", stored["Text"])) == nfc(note.text)
        for anki_card in stored.cards():
            assert anki_card.question().strip()
    assert not anki.get_empty_cards().notes


def _shape(pieces: list[bytes]) -> bytes:
    return b"".join(pieces)


SOURCE_BYTES = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from(
            [
                b"[deck]\n",
                b'name = "x"\n',
                b"[[cards]]\n",
                b'title = "t"\n',
                b'bullets = ["a"]\n',
                b"bullets = []\n",
                b"tags = [1]\n",
                b"[cloze]\n",
                b'kinds = ["x"]\n',
                b"\xff",
                b"\xef\xbb\xbf",
                b'"',
                b"[",
                b"]",
                b"=",
                b"\n",
                b"titel = 1\n",
                b"\x00",
                b"{",
                b'id = "a"\n',
                b'images = ["../x.png"]\n',
                b'include = ["nope.toml"]\n',
            ]
        ),
        max_size=12,
    ).map(_shape),
)


@settings(max_examples=300, deadline=None)
@given(data=SOURCE_BYTES)
def test_any_bytes_give_a_deck_or_located_errors(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("src") / "cards.toml"
    path.write_bytes(data)
    assert_a_deck_or_located_errors(path)


def assert_a_deck_or_located_errors(path: Path) -> None:
    try:
        deckforge.load(path)
    except SourceError as e:
        problems = e.problems
    else:
        return
    assert problems
    for problem in problems:
        assert problem.path.endswith("cards.toml")
        assert problem.lineno >= 0
        assert problem.colno >= 0
        assert str(problem).startswith(problem.path)


# Valid TOML with the wrong shapes: the keys of a source and odd ones, any TOML value under
# them, long texts, big numbers and deep nesting.
KEYS = st.sampled_from(
    ["deck", "cards", "cloze", "include", "name", "title", "bullets", "tags", "id", "images",
     "glossary", "term", "kind", "kinds", "ignore", "titles", "description", "x", "a.b", ""]
)  # fmt: skip
SCALARS = st.one_of(
    TEXT,
    st.text(min_size=5000, max_size=20000, alphabet="ab {}\\1926 "),
    st.integers(-(10**300), 10**300),
    st.floats(allow_nan=True),
    st.booleans(),
    st.datetimes(),
    st.dates(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=30,
)
SHAPES = st.dictionaries(KEYS, VALUES, max_size=5) | st.builds(
    lambda deck, cards, extra: {"deck": deck, "cards": cards, **extra},
    st.dictionaries(KEYS, VALUES, max_size=3),
    st.lists(st.dictionaries(KEYS, VALUES, max_size=4), max_size=3),
    st.dictionaries(KEYS, VALUES, max_size=2),
)

# A valid source with one value replaced: near misses, and now and then a deck
PLACES = [
    ("deck",), ("deck", "name"), ("deck", "tags"), ("cards",), ("cards", 0), ("cards", 0, "title"),
    ("cards", 0, "bullets"), ("cards", 0, "bullets", 0), ("cards", 0, "tags"), ("cards", 0, "id"),
    ("cloze",), ("cloze", "glossary"), ("cloze", "glossary", 0), ("cloze", "kinds"), ("include",),
]  # fmt: skip


def _replaced(place: tuple[str | int, ...], value: object) -> dict[str, object]:
    source: dict[str, Any] = {
        "deck": {"name": "x", "tags": ["a"]},
        "cards": [{"title": "t", "bullets": ["b 1926", "c"], "tags": ["u"], "id": "i"}],
        "cloze": {"glossary": ["a", {"term": "b", "kind": "date"}], "kinds": ["date"]},
    }
    parent: Any = source
    for part in place[:-1]:
        parent = parent[part]
    parent[place[-1]] = value
    return source


NEAR_MISSES = st.builds(_replaced, st.sampled_from(PLACES), VALUES)


def _deep(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=SHAPES | NEAR_MISSES | st.integers(1, 400).map(lambda n: {"deck": {"name": _deep(n)}}))
def test_any_toml_of_any_shape_gives_a_deck_or_located_errors(
    data: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    import tomlkit

    try:
        text = tomlkit.dumps(data)
    except (ValueError, TypeError, RecursionError):
        assume(False)  # not expressible as TOML
        return
    path = tmp_path_factory.mktemp("src") / "cards.toml"
    path.write_text(text, encoding="utf-8")
    assert_a_deck_or_located_errors(path)


DELETIONS = st.lists(
    st.tuples(TEXT, st.integers(1, 500), st.sampled_from(["date", "treaty", ""])), max_size=3
).map(tuple)
LOCKED = st.one_of(
    st.builds(LockedNote, guid=TEXT, kind=st.just("qa"), card=TEXT, hash=st.text(max_size=30),
              mod=st.integers(0, MAX_MOD - 1), text=TEXT, id=st.none() | TEXT,
              cloze=st.just(()), gone=st.just(()), last=st.just(0), single=st.just(False),
              removed=st.booleans(), fields=st.text(max_size=16)),
    st.builds(LockedNote, guid=TEXT, kind=st.just("cloze"), card=TEXT, hash=st.text(max_size=30),
              mod=st.integers(0, MAX_MOD - 1), text=TEXT, id=st.none(), cloze=DELETIONS,
              gone=DELETIONS, last=st.integers(0, 1000), single=st.booleans(),
              removed=st.booleans(), fields=st.text(max_size=16)),
)  # fmt: skip


def as_written(note: LockedNote) -> dict[str, object]:
    """The JSON object of *note*'s line: what is not said is the default."""
    entry: dict[str, object] = {
        k: getattr(note, k) for k in ("guid", "kind", "card", "hash", "mod")
    }
    if note.id is not None:
        entry["id"] = note.id
    if note.kind == "cloze":
        entry.update(cloze=[list(d) for d in note.cloze], last=note.last)
        if note.gone:
            entry["gone"] = [list(d) for d in note.gone]
        if note.single:
            entry["single"] = True
    if note.removed:
        entry["removed"] = True
    if note.fields:
        entry["fields"] = note.fields
    return {**entry, "text": note.text}


@settings(max_examples=200, deadline=None)
@given(deck=TEXT, key=TEXT, notes=st.lists(LOCKED, max_size=5, unique_by=lambda n: n.guid))
def test_the_lock_file_is_a_line_of_json_per_note_and_reads_back(
    deck: str, key: str, notes: list[LockedNote], tmp_path_factory: pytest.TempPathFactory
) -> None:
    lock = Lock(deck, key, tuple(sorted(notes, key=lambda n: n.guid)))
    written = "".join(dump_lock(lock))
    head, *lines = written.removesuffix("\n").split("\n")
    assert json.loads(head) == {"deckforge": 2, "deck": deck, "key": key}
    for line, note in zip(lines, lock.notes, strict=True):
        assert json.loads(line) == as_written(note)
    path = tmp_path_factory.mktemp("lock") / "cards.lock"
    path.write_text(written, encoding="utf-8")
    assert read_lock(path) == lock


@settings(max_examples=500, deadline=None)
@given(text=st.text(min_size=1, max_size=40).filter(lambda t: not t.isspace()))
def test_a_text_is_refused_exactly_when_it_holds_a_control_character(text: str) -> None:
    bad = CONTROL.search(text)
    if bad is None:
        Card(title=text, bullets=["b"])
    else:
        with pytest.raises(ValidationError, match=f"control character U\\+{ord(bad.group()):04X}"):
            Card(title=text, bullets=["b"])
