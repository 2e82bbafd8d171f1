"""The ``deckforge`` command: a thin layer over the library."""

from __future__ import annotations

import difflib
import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .errors import DeckforgeError, Problem, SourceError

if TYPE_CHECKING:
    from .identity import Changes
    from .notes import Note
    from .package import Progress
    from .pipeline import BuildResult
    from .schema import Source

SOURCES = click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
SOURCE = click.argument(
    "source", type=click.Path(dir_okay=False, path_type=Path), default="cards.toml"
)


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
    from .source import load, sources_in

    loaded: dict[Path, Source] = {}
    problems: list[Problem] = []
    for path in sources_in(sources or ["cards.toml"]):
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
@click.option("--bundle", metavar="NAME", help="Write one package, NAME.apkg, with every deck.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print what was built as JSON.")
def build(
    sources: tuple[Path, ...], out_dir: Path, bundle: str | None, quiet: bool, as_json: bool
) -> None:
    """Build each SOURCE into OUT_DIR/<deck-name>.apkg.

    SOURCE is a cards.toml (the default) or a folder of them; with --bundle, all of them go
    into one package. Each source's lock file (cards.lock beside cards.toml) is updated.
    """
    from .pipeline import build_bundle, package_path

    with _reported():
        loaded = _load_all(sources)
        if bundle is None:
            targets: dict[Path, Path] = {}
            for path, source in loaded.items():
                target = package_path(source.deck, out_dir)
                if target in targets:
                    raise DeckforgeError(
                        f"{path}: deck {source.deck.name!r} would overwrite {target}, "
                        f"which {targets[target]} writes; give the decks different names"
                    )
                targets[target] = path
        groups = [loaded] if bundle else [{path: s} for path, s in loaded.items()]
        results: list[BuildResult] = []
        for group in groups:
            with _progress("Packaging", hidden=quiet or as_json) as progress:
                results += build_bundle(group, bundle, out_dir, progress)
    if as_json:
        click.echo(json.dumps([_result_json(r) for r in results], indent=2, ensure_ascii=False))
    elif not quiet:
        for result in results:
            click.echo(result.summary())
            _echo_removed(result.changes)


@contextmanager
def _progress(label: str, *, hidden: bool) -> Iterator[Progress]:
    """A progress bar on stderr when it is a terminal; nothing when it is piped."""
    with click.progressbar(
        length=1, label=label, file=sys.stderr, hidden=hidden or not sys.stderr.isatty()
    ) as bar:

        def update(done: int, total: int) -> None:
            if done == total or done - bar.pos >= total // 200:  # redraw at most 200 times
                bar.length = total
                bar.update(done - bar.pos)

        yield update


def _result_json(result: BuildResult) -> dict[str, object]:
    changes = result.changes
    return {
        "source": str(result.source),
        "package": str(result.package.path),
        "notes": result.package.notes,
        "cards": result.package.cards,
        "added": len(changes.added),
        "updated": len(changes.updated),
        "unchanged": changes.unchanged,
        "removed": len(changes.removed),
        "removed_search": changes.removed_search() if changes.removed else None,
    }


@cli.command()
@SOURCE
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
@SOURCE
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
        if update.old.text == update.new.text:
            yield "    (the same text: its cloze deletions, tags or deck changed)"
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
    with _reported():
        for path, source in _load_all(sources).items():
            bullets = sum(len(card.bullets) for card in source.cards)
            click.echo(f"{path}: ok, {len(source.cards)} cards, {bullets} bullets")


@cli.group(name="import")
def import_() -> None:
    """Bring notes kept in another format into a cards.toml."""


@import_.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("cards.toml"),
    show_default=True,
    help="The cards.toml to write; - for standard output.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def outline(file: Path, output: Path, force: bool) -> None:
    """Convert an outline or Markdown FILE into a cards.toml.

    FILE names the deck on its first line, may state "Cards (N)", and lists topics as bullets
    (•, -, *, ◦) with their facts indented beneath, or as "## topic" headings with bullets.
    """
    from . import outline as outlines
    from .package import write_atomic

    with _reported():
        result = outlines.read(file)
        text = outlines.to_toml(result)
        if str(output) == "-":
            click.echo(text, nl=False)
        elif output.exists() and not force:
            raise DeckforgeError(f"{output} already exists; use --force to replace it")
        else:
            write_atomic(output, text.encode("utf-8"))
    for lineno, line in result.skipped:
        click.echo(f"{file}:{lineno}: skipped {line!r}, a flashcard site's footer", err=True)
    if str(output) != "-":
        bullets = sum(len(t.bullets) for t in result.topics)
        click.echo(f"{output}: deck {result.name!r}, {len(result.topics)} cards, {bullets} bullets")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(folder: Path) -> None:
    """Start a deck: write a commented cards.toml (and its JSON Schema) into FOLDER."""
    from importlib.resources import files

    from .package import write_atomic
    from .schema import json_schema

    targets = {
        folder / "cards.toml": files("deckforge").joinpath("starter.toml").read_bytes(),
        folder / "cards.schema.json": (json.dumps(json_schema(), indent=2) + "\n").encode(),
    }
    with _reported():
        for target in targets:
            if target.exists():
                raise DeckforgeError(f"{target} already exists; init never replaces a file")
        for target, data in targets.items():
            write_atomic(target, data)
            click.echo(f"wrote {target}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of cards.toml, for editors that check TOML as it is typed."""
    from .schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@cli.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
def verify(package: Path) -> None:
    """Import PACKAGE into a throwaway Anki collection and report what Anki sees.

    Exits with status 1 if Anki reports any problem. Needs the anki package:
    pip install 'deckforge[anki]'.
    """
    from .verification import verify as verify_package

    with _reported():
        report = verify_package(package)
    click.echo(report.summary())
    for problem in report.problems:
        click.echo(f"{package}: {problem}", err=True)
    if report.problems:
        raise SystemExit(1)


def main() -> None:
    """Entry point of the console script and ``python -m deckforge``."""
    # One short run that makes a million objects on a large deck and no reference cycles: the
    # cycle collector would only walk them, again and again, and once more at exit (up to a
    # fifth of the time of a large build). pipeline._gc_paused does the same in the library.
    gc.disable()
    cli(prog_name="deckforge")
