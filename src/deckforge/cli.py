"""The ``deckforge`` command: a thin layer over the library."""

from __future__ import annotations

import difflib
import errno
import gc
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import click

import deckforge
from deckforge import DeckforgeError

from . import __version__
from .words import plural

if TYPE_CHECKING:
    from deckforge import BuildResult, Changes, LockedNote, Note

SOURCES = click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
DEFAULT = ("cards.toml",)


@contextmanager
def _reported() -> Iterator[None]:
    """The one place where a library error becomes a message on stderr and exit status 1."""
    try:
        yield
    except DeckforgeError as e:
        click.echo(str(e), err=True)
        raise SystemExit(1) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckforge")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn study notes in cards.toml into an Anki deck."""
    # colours on a terminal, unless NO_COLOR says none; FORCE_COLOR asks for them anywhere
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        ctx.color = False
    elif os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        ctx.color = True


OUT_DIR = click.option(
    "--out-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder the .apkg files are written to (and were written to last time).",
)
BUNDLE = click.option(
    "--bundle", metavar="NAME", help="Write one package, NAME.apkg, with every deck."
)


@cli.command()
@SOURCES
@OUT_DIR
@BUNDLE
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print what was built as JSON.")
def build(
    sources: tuple[Path, ...], out_dir: Path, bundle: str | None, quiet: bool, as_json: bool
) -> None:
    """Build each SOURCE into OUT_DIR/<deck-name>.apkg.

    SOURCE is a cards.toml (the default) or a folder of them; with --bundle, all of them go
    into one package. Each source's lock file (cards.lock beside cards.toml) is updated.
    """
    with _reported(), _progress("Packaging", hidden=quiet or as_json) as progress:
        results = deckforge.build_all(sources or DEFAULT, out_dir, bundle=bundle, progress=progress)
    if as_json:
        click.echo(_json([_result_json(r) for r in results]))
    elif not quiet:
        for result in results:
            click.echo(result.summary())
            _echo_advice(result.changes)


@contextmanager
def _progress(label: str, *, hidden: bool) -> Iterator[Callable[[int, int], None]]:
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
        "notes": len(result.notes),
        "cards": result.cards,
        "added": len(changes.added),
        "updated": len(changes.updated),
        "unchanged": changes.unchanged,
        "removed": len(changes.removed),
        "removed_search": changes.removed_search() if changes.removed else None,
    }


@cli.command()
@SOURCES
@OUT_DIR
@BUNDLE
def diff(sources: tuple[Path, ...], out_dir: Path, bundle: str | None) -> None:
    """Show what building each SOURCE (default: cards.toml) and importing it would change.

    Compares each source with its lock file, the record of the last build: notes added,
    updated (with the changed text), unchanged and removed.
    """
    with _reported():
        planned = deckforge.diff_all(sources or DEFAULT, out_dir, bundle=bundle)
    for path, changes in planned.items():
        click.echo(f"{path}: {changes.summary()}")
        for line in _describe(changes):
            click.echo(line)
        _echo_advice(changes)


@cli.command()
@SOURCES
@OUT_DIR
@BUNDLE
@click.option("--json", "as_json", is_flag=True, help="Print the notes as JSON, for scripts.")
@click.option(
    "--html", "as_html", is_flag=True, help="Write every card, as Anki shows it, to one page."
)
@click.option(
    "--page",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The page --html writes (default: preview.html).",
)
@click.option("--open", "open_page", is_flag=True, help="Open the --html page in the browser.")
def preview(
    sources: tuple[Path, ...],
    out_dir: Path,
    bundle: str | None,
    as_json: bool,
    as_html: bool,
    page: Path | None,
    open_page: bool,
) -> None:
    """Show the notes building each SOURCE (default: cards.toml) would write.

    Deletions are shown in brackets, each kind in its own colour on a terminal. With --html,
    the cards as Anki will show them, on one page that holds everything it shows.
    """
    if as_json and as_html:
        raise click.UsageError("give --json or --html, not both")
    if not as_html and (page is not None or open_page):
        raise click.UsageError("--page and --open go with --html")
    if as_html:
        page = page or Path("preview.html")
        with _reported():
            deckforge.preview_page(sources or DEFAULT, out_dir, bundle=bundle, to=page)
        click.echo(f"wrote {page}")
        if open_page:
            click.launch(str(page))
        return
    with _reported():
        planned = deckforge.diff_all(sources or DEFAULT, out_dir, bundle=bundle)
    if as_json:
        notes = [_note_json(n, c.title(n)) for c in planned.values() for n in c.notes]
        click.echo(_json(notes))
        return
    for changes in planned.values():
        for note in changes.notes:
            if note.kind == "qa":  # its Facts field: a list item per bullet
                count = plural(note.fields[1].count("<li>"), "bullet")
                click.echo(click.style(changes.title(note), bold=True) + f"  ({count})")
            else:
                click.echo(f"  {_highlight(note)}")


_COLOURS = {"date": "cyan", "treaty": "magenta", "term": "yellow", "marked": "green"}


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
    emptied = {note.guid: numbers for note, numbers in changes.emptied}
    for note in changes.added:
        yield _headline("added", changes.title(note), note.kind, note.text)
    for update in changes.updated:
        yield _headline("updated", changes.title(update.new), update.new.kind)
        if update.old.text == update.new.text:
            yield "    (the same text: its cloze deletions, tags, deck or style changed)"
        old, new = update.old.text.split("\n"), update.new.text.split("\n")
        for line in difflib.ndiff(old, new):
            if line[:1] in "-+":
                yield f"    {line}"
        if update.new.kind == "cloze":
            yield from _deletions(update.old, update.new, emptied.get(update.new.guid, ()))
    for locked in changes.removed:
        yield _headline("removed", changes.title(locked), locked.kind, locked.text)


def _deletions(old: LockedNote, new: Note, emptied: tuple[int, ...]) -> Iterator[str]:
    """The cards of an updated cloze note, when it gains or loses one: each deletion keeps its
    card (and its review history), a new one makes a new card, a card whose deletion is gone is
    left empty."""
    before = {number for _, number, _ in old.cloze}
    if emptied or not before.issuperset(new.numbers):
        cards = [
            f"c{number} [{new.text[span.start : span.end]}]{'' if number in before else ' new'}"
            for number, span in zip(new.numbers, new.spans, strict=True)
        ]
        cards += [f"c{number} left empty" for number in emptied]
        yield f"    cards: {', '.join(cards)}"


def _headline(what: str, title: str, kind: str, text: str = "") -> str:
    line = f'  {what:8} "{title}" ({_KINDS[kind]})'
    return f"{line}: {text}" if kind == "cloze" and what != "updated" else line


def _echo_advice(changes: Changes) -> None:
    for line in changes.advice():
        click.echo(line)


@cli.command()
@SOURCES
@click.option(
    "--collection",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A collection.anki2 whose Anki is closed.",
)
@click.option(
    "--ankiconnect",
    "url",
    is_flag=False,
    flag_value="",
    metavar="[URL]",
    help="The running Anki, through AnkiConnect (default http://127.0.0.1:8765).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@click.option(
    "--delete",
    is_flag=True,
    help="Delete notes whose source is gone, and empty cards (without it: tag and report).",
)
@click.option("--force", is_flag=True, help="Overwrite notes changed in Anki since the last sync.")
@click.option("--no-backup", is_flag=True, help="Do not back the collection up first.")
@click.option(
    "--allow-full-sync",
    is_flag=True,
    help="Change deckforge's note types' fields, which makes AnkiWeb ask for a full sync.",
)
@OUT_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the plan and the outcome as JSON.")
def sync(
    sources: tuple[Path, ...],
    collection: Path | None,
    url: str | None,
    dry_run: bool,
    delete: bool,
    force: bool,
    no_backup: bool,
    allow_full_sync: bool,
    out_dir: Path,
    as_json: bool,
) -> None:
    """Send each SOURCE (default: cards.toml) straight into Anki: adds, updates, moves and
    (with --delete) deletes notes; notes edited in Anki are conflicts, left alone.

    Exits with status 3 when notes were left as Anki has them (conflicts, and notes edited in
    Anki whose source is gone), the rest applied.
    """
    if (collection is None) == (url is None):
        raise click.UsageError("give --collection PATH or --ankiconnect [URL]")
    options = deckforge.SyncOptions(delete, force, not no_backup, allow_full_sync)
    if url == "":
        url = deckforge.ANKICONNECT
    elif url is not None and "://" not in url:
        url = f"http://{url}"  # 127.0.0.1:8765, as people write it
    if url is not None and not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{url}: not an http:// URL", param_hint="--ankiconnect")
    into = str(collection) if url is None else url
    with _reported():
        result = deckforge.sync(sources or DEFAULT, into, options, dry_run=dry_run, out_dir=out_dir)
    if as_json:
        click.echo(_json(result.as_json()))
    else:
        click.echo("\n".join(result.report()))
    if result.left_alone:
        raise SystemExit(3)


@cli.command()
@SOURCES
def check(sources: tuple[Path, ...]) -> None:
    """Validate each SOURCE (default: cards.toml) without building anything."""
    with _reported():
        loaded = deckforge.load_all(sources or DEFAULT)
    for path, source in loaded.items():
        bullets = sum(len(card.bullets) for card in source.cards)
        click.echo(f"{path}: ok, {plural(len(source.cards), 'card')}, {plural(bullets, 'bullet')}")


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
    to_stdout = str(output) == "-"
    with _reported():
        result = deckforge.import_outline(file, None if to_stdout else output, force=force)
    if to_stdout:
        click.echo(result.to_toml(), nl=False)
    for lineno, line in result.skipped:
        click.echo(f"{file}:{lineno}: skipped {line!r}, a flashcard site's footer", err=True)
    for warning in result.warnings:
        click.echo(f"{warning} (a warning)", err=True)
    if not to_stdout:
        bullets = plural(sum(len(t.bullets) for t in result.topics), "bullet")
        cards = plural(len(result.topics), "card")
        click.echo(f"{output}: deck {result.name!r}, {cards}, {bullets}")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(folder: Path) -> None:
    """Start a deck: write a commented cards.toml (and its JSON Schema) into FOLDER."""
    with _reported():
        written = deckforge.init(folder)
    for path in written:
        click.echo(f"wrote {path}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of cards.toml, for editors that check TOML as it is typed."""
    click.echo(json.dumps(deckforge.json_schema(), indent=2))


@cli.command()
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
def verify(package: Path) -> None:
    """Import PACKAGE into a throwaway Anki collection and report what Anki sees.

    Exits with status 1 if Anki reports any problem. Needs the anki package:
    pip install 'anki>=25.2'.
    """
    with _reported():
        report = deckforge.verify(package)
    click.echo(report.summary())
    for problem in report.problems:
        click.echo(f"{package}: {problem}", err=True)
    if report.problems:
        raise SystemExit(1)


def _json(data: object) -> str:
    """*data* as JSON: as typed where the output is UTF-8, else every character escaped
    (valid JSON, whatever the output's encoding can hold)."""
    utf8 = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "") == "utf8"
    return json.dumps(data, indent=2, ensure_ascii=not utf8)


def main() -> None:
    """Entry point of the console script and ``python -m deckforge``."""
    # One short run that makes a million objects on a large deck and no reference cycles: the
    # cycle collector would only walk them, again and again, and once more at exit (up to a
    # fifth of the time of a large build). pipeline._gc_paused does the same in the library.
    gc.disable()
    for stream in (sys.stdout, sys.stderr):
        # a character the output's encoding lacks is written escaped, not a crash
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        cli(prog_name="deckforge")
    except OSError as e:  # the output itself cannot be written: a full disk, say
        writing = e.errno in (errno.ENOSPC, errno.EPIPE, errno.EBADF)
        with suppress(OSError):
            said = f"cannot write the output: {e.strerror}" if writing else e.strerror or e
            print(f"deckforge: {said}", file=sys.stderr)
        raise SystemExit(1) from None
