"""The ``deckforge`` command: a thin layer over the library."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from . import __version__
from .errors import DeckforgeError, Problem, SourceError
from .identity import Changes
from .notes import Note
from .schema import Source

SOURCES = click.argument("sources", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))


@contextmanager
def _reported() -> Iterator[None]:
    """The one place where a library error becomes a message on stderr and exit status 1."""
    try:
        yield
    except DeckforgeError as e:
        click.echo(str(e), err=True)
        raise SystemExit(1) from None


def _load_all(sources: tuple[Path, ...]) -> dict[Path, Source]:
    """Every source, validated; all problems of all files are reported before giving up."""
    from .source import load

    loaded: dict[Path, Source] = {}
    problems: list[Problem] = []
    for path in sources or (Path("cards.toml"),):
        try:
            loaded[path] = load(path)
        except SourceError as e:
            problems += e.problems
    if problems:
        raise SourceError(problems)
    return loaded


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckforge")
def cli() -> None:
    """Turn study notes in cards.toml into an Anki deck."""


@cli.command()
@SOURCES
@click.option(
    "--out-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder the .apkg files are written to.",
)
def build(sources: tuple[Path, ...], out_dir: Path) -> None:
    """Build each SOURCE (default: cards.toml) into OUT_DIR/<deck-name>.apkg."""
    from .pipeline import build_source, package_path

    with _reported():
        loaded = _load_all(sources)
        targets: dict[Path, Path] = {}
        for path, source in loaded.items():
            target = package_path(source.deck, out_dir)
            if target in targets:
                raise DeckforgeError(
                    f"{path}: deck {source.deck.name!r} would overwrite {target}, "
                    f"which {targets[target]} writes; give the decks different names"
                )
            targets[target] = path
        for path, source in loaded.items():
            result = build_source(source, path, out_dir)
            click.echo(result.summary())
            _echo_removed(result.changes)


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), default="cards.toml")
def diff(source: Path) -> None:
    """Show what building SOURCE (default: cards.toml) and importing it would change in Anki.

    Compares the source with its lock file, the record of the last build: notes added, updated
    (with the changed text), unchanged and removed.
    """
    from .pipeline import diff as diff_source

    with _reported():
        changes = diff_source(source)
        click.echo(f"{source}: {changes.summary()}")
        for line in _describe(changes):
            click.echo(line)
        _echo_removed(changes)


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), default="cards.toml")
@click.option("--json", "as_json", is_flag=True, help="Print the notes as JSON, for scripts.")
def preview(source: Path, as_json: bool) -> None:
    """Show the notes building SOURCE (default: cards.toml) would write.

    Deletions are shown in brackets, dates and treaties in their own colours on a terminal.
    """
    from .pipeline import plan
    from .source import load

    with _reported():
        notes, changes = plan(load(source), source)
    if as_json:
        click.echo(
            json.dumps(
                [_note_json(n, changes.title(n)) for n in notes], indent=2, ensure_ascii=False
            )
        )
        return
    for note in notes:
        if note.kind == "qa":
            title, *bullets = note.text.split("\n")
            click.echo(click.style(title, bold=True) + f"  ({len(bullets)} bullets)")
        else:
            click.echo(f"  {_highlight(note)}")


_COLOURS = {"date": "cyan", "treaty": "magenta"}


def _highlight(note: Note) -> str:
    out, pos = [], 0
    for span in note.spans:
        deleted = note.text[span.start : span.end]
        styled = click.style(f"[{deleted}]", fg=_COLOURS[span.kind], bold=True)
        out += [note.text[pos : span.start], styled]
        pos = span.end
    return "".join([*out, note.text[pos:]])


def _note_json(note: Note, title: str) -> dict[str, object]:
    return {
        "guid": note.guid,
        "kind": note.kind,
        "card": note.card,
        "title": title,
        "text": note.text,
        "deletions": [
            {"number": i, "kind": s.kind, "text": note.text[s.start : s.end], "start": s.start}
            for i, s in enumerate(note.spans, start=1)
        ],
        "fields": dict(zip(note.model_fields, note.fields, strict=True)),
        "tags": list(note.tags),
    }


_KINDS = {"qa": "question/answer", "cloze": "cloze"}


def _describe(changes: Changes) -> Iterator[str]:
    for note in changes.added:
        yield _headline("added", changes.title(note), note.kind, note.text)
    for update in changes.updated:
        yield _headline("updated", changes.title(update.new), update.new.kind)
        old, new = update.old.text.split("\n"), update.new.text.split("\n")
        for line in difflib.ndiff(old, new):
            if line[:1] in "-+":
                yield f"    {line}"
    for locked in changes.removed:
        yield _headline("removed", changes.title(locked), locked.kind, locked.text)


def _headline(what: str, title: str, kind: str, text: str = "") -> str:
    line = f'  {what:8} "{title}" ({_KINDS[kind]})'
    return f"{line}: {text}" if kind == "cloze" and what != "updated" else line


def _echo_removed(changes: Changes) -> None:
    if changes.removed:
        click.echo(
            f"{len(changes.removed)} notes are no longer in the source. Anki keeps them (an import"
            " cannot delete notes); to find and delete them, search in Anki's browser for:\n"
            f"  {changes.removed_search()}"
        )


@cli.command()
@SOURCES
def check(sources: tuple[Path, ...]) -> None:
    """Validate each SOURCE (default: cards.toml) without building anything."""
    from .notes import transform

    with _reported():
        for path, source in _load_all(sources).items():
            notes = transform(source)
            click.echo(f"{path}: ok, {len(source.cards)} cards, {len(notes)} notes")


def main() -> None:
    """Entry point of the console script and ``python -m deckforge``."""
    cli(prog_name="deckforge")
