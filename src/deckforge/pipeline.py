"""Building decks: each source loaded, its notes matched with its lock file, and packaged; or
only what a build would change, for ``diff`` and ``preview``."""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from . import files, package
from .errors import DeckforgeError, PackageError
from .identity import (
    Changes,
    build_time,
    default_key,
    dump_lock,
    lock_path,
    read_lock,
    reconcile,
    recover,
    state,
)
from .notes import Note, media_name, transform
from .package import PackageInfo, Progress, card_count, read_built
from .schema import Deck, Source
from .source import load_all
from .words import plural

T = TypeVar("T")


@dataclass(frozen=True)
class BuildResult:
    """One built source: where its package went, and what changed since its lock file."""

    source: Path
    package: PackageInfo  # the whole package (with --bundle, every source's notes)
    changes: Changes
    cards: int  # how many cards Anki makes of this source's notes

    @property
    def notes(self) -> tuple[Note, ...]:
        """This source's notes."""
        return self.changes.notes

    def summary(self) -> str:
        qa = sum(1 for n in self.notes if n.kind == "qa")
        return (
            f"{self.package.path}: {plural(len(self.notes), 'note')} "
            f"({qa} question/answer, {len(self.notes) - qa} cloze), "
            f"{plural(self.cards, 'card')}; {self.changes.summary()}"
        )


_RESERVED = re.compile(r"(?:con|prn|aux|nul|com\d|lpt\d)(?:-.*)?", re.IGNORECASE)
_LONGEST_SLUG = 120  # bytes


def package_path(deck: Deck | str, out_dir: str | os.PathLike[str]) -> Path:
    """``dist/stalin-foreign-policy.apkg`` for the deck "Stalin foreign policy".

    Whatever the name ("../x", "/etc", "CON", 500 characters), the file is a plain name
    inside *out_dir*: letters, digits and dashes, never a name Windows reserves.
    """
    name = deck if isinstance(deck, str) else deck.name
    slug = re.sub(r"[\W_]+", "-", name.casefold())
    # file names are limited in bytes (255 on most systems), and the temporary ones are longer
    slug = slug.encode()[:_LONGEST_SLUG].decode(errors="ignore").strip("-") or "deck"
    if _RESERVED.fullmatch(slug):
        slug = f"deck-{slug}"
    return Path(out_dir) / f"{slug}.apkg"


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cycle collector paused, for a build: a large deck is a million objects and no
    reference cycles, and the collector would walk them all, again and again, as they are made
    (up to a fifth of the time of a 100,000-bullet build). Freed objects are still freed at once."""
    if not gc.isenabled():  # paused already (a build within a build), or by the caller
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def media_files(source: Source, path: str | os.PathLike[str], key: str) -> dict[str, Path]:
    """The images *source* (read from *path*, its GUIDs derived from *key*) shows, by the name
    they get in Anki."""
    folder = Path(path).parent
    return {name: folder / image for image, name in media_names(source, path, key).items()}


def style_of(source: Source, path: str | os.PathLike[str]) -> str:
    """The CSS of *source*'s cards (read from *path*) when it has a style of its own, else
    ""."""
    if source.style.css is None:
        return ""
    file = Path(path).parent / source.style.css
    try:
        own = file.read_text(encoding="utf-8").removeprefix("\ufeff")  # an editor's BOM
    except (OSError, UnicodeDecodeError) as e:
        raise PackageError(f"cannot read {file}: {getattr(e, 'strerror', None) or e}") from None
    return own if source.style.replace else f"{package.CSS}\n{own}"


def _first_bytes(path: Path, count: int) -> bytes:
    with path.open("rb") as f:
        return f.read(count)


def package_style(group: Sequence[Path], planned: Mapping[Path, Changes]) -> package.Style:
    """The style of the note types of one package of the *group* of sources, as they were
    planned: Anki has one set of note types for every deck, so decks packed together share
    theirs."""
    styles = {planned[path].css or package.CSS for path in group}
    if len(styles) > 1:
        names = ", ".join(str(path) for path in group)
        raise DeckforgeError(f"{names} go into one package: give them the same [style]")
    css = styles.pop()
    changed = [style[1] for path in group if (style := planned[path].lock.style)]
    return package.Style(css, max(changed)) if changed else package.BUILT_IN


def media_names(source: Source, path: str | os.PathLike[str], key: str) -> dict[str, str]:
    """The name in Anki of each image *source* (read from *path*) shows, by its path: made of
    the image's content too, when the file is there."""
    folder, names = Path(path).parent, {}
    for image in {image: None for card in source.cards for image in card.images}:
        try:
            content = hashlib.blake2b((folder / image).read_bytes(), digest_size=16).hexdigest()
        except OSError:  # reported where the package is written
            content = ""
        names[image] = media_name(key, image, content)
    return names


def diff(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist") -> Changes:
    """What building the source file at *path* into *out_dir* and importing the package would
    change in Anki."""
    return _one(list(diff_all([path], out_dir).values()), path)


def diff_all(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] = "dist",
    *,
    bundle: str | None = None,
) -> dict[Path, Changes]:
    """:func:`diff` for every source named by *paths* (files, or folders of them), built as
    :func:`build_all` would build them."""
    return _diff_all(load_all(paths), Path(out_dir), bundle)


def _diff_all(
    sources: dict[Path, Source], out_dir: Path, bundle: str | None
) -> dict[Path, Changes]:
    locks = {path: lock_path(path) for path in sources}
    with _gc_paused():
        packages = _packages(sources, out_dir, bundle)
        return _plan_all(sources, locks, packages, out_dir)


def preview_page(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] = "dist",
    *,
    bundle: str | None = None,
    to: str | os.PathLike[str] | None = None,
) -> str:
    """One self-contained HTML page with every card that building the sources named by *paths*
    would make, front and back, as Anki will show them (see :mod:`deckforge.pages`); written
    to the file *to* as well, when given."""
    from .pages import PAGE_START, page

    sources = load_all(paths)
    planned = _diff_all(sources, Path(out_dir), bundle)
    media = {
        name: file
        for path, changes in planned.items()
        for name, file in media_files(sources[path], path, changes.lock.key).items()
    }
    decks = [(sources[path].deck.name, changes.notes) for path, changes in planned.items()]
    html = page(decks, media)
    if to is not None:
        target = Path(to)
        start = PAGE_START.encode()
        try:
            ours = not target.exists() or _first_bytes(target, len(start)) == start
        except OSError as e:
            raise PackageError(f"cannot read {target}: {e.strerror or e}") from None
        if not ours:
            raise PackageError(f"{target} exists and is no page deckforge wrote: not replaced")
        files.write_bytes(target, html.encode("utf-8"))
    return html


def plan(sources: Mapping[Path, Source], out_dir: Path) -> dict[Path, Changes]:
    """The notes of each of *sources* (by path) with their identity, as a build into *out_dir*
    would give them, and what changed since each one's lock file: for ``sync``."""
    locks = {path: lock_path(path) for path in sources}
    with _gc_paused():
        return _plan_all(sources, locks, _by_deck(sources, out_dir), out_dir)


def build(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist") -> BuildResult:
    """Build the deck in the source file *path* into ``<out_dir>/<deck-slug>.apkg``.

    The lock file beside the source (``cards.lock`` for ``cards.toml``) is read to keep each
    note's identity, and rewritten with the package.
    """
    return _one(build_all([path], out_dir), path)


def build_all(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] = "dist",
    *,
    bundle: str | None = None,
    progress: Progress | None = None,
) -> list[BuildResult]:
    """Build every source named by *paths* (files, or folders of them), each into a package
    named after its deck, or all into one named after *bundle*; each source's lock file is
    rewritten with its package.

    Nothing is written unless every source and every lock file is valid, and no two decks
    would write the same package. *progress* is told of the notes written: (written, total).
    """
    sources = load_all(paths)
    locks = {path: lock_path(path) for path in sources}
    return _build(sources, locks, Path(out_dir), bundle, progress)


def build_source(
    source: Source, lock: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist"
) -> BuildResult:
    """Build a deck made in code, keeping its notes' identity in the lock file *lock*, as
    :func:`build` keeps a source file's (its images are found beside the lock file)."""
    path = Path(lock)
    return _build({path: source}, {path: path}, Path(out_dir), None, None)[0]


def _build(
    sources: Mapping[Path, Source],
    locks: Mapping[Path, Path],
    out_dir: Path,
    bundle: str | None,
    progress: Progress | None,
) -> list[BuildResult]:
    packages = _packages(sources, out_dir, bundle)
    with _gc_paused(), files.building([out_dir, *(lock.parent for lock in locks.values())]):
        files.remove_leftovers([*packages, *locks.values()])
        planned = _plan_all(sources, locks, packages, out_dir)
        return _write(sources, locks, packages, planned, progress)


def write(sources: Mapping[Path, Source], planned: Mapping[Path, Changes], out_dir: Path) -> None:
    """Write the package of each of *sources* (by path) with the notes of *planned* into
    *out_dir*, and its lock file: for ``sync``, what it wrote into Anki."""
    locks = {path: lock_path(path) for path in sources}
    _write(sources, locks, _by_deck(sources, out_dir), planned, None)


def _write(
    sources: Mapping[Path, Source],
    locks: Mapping[Path, Path],
    packages: Mapping[Path, list[Path]],
    planned: Mapping[Path, Changes],
    progress: Progress | None,
) -> list[BuildResult]:
    total, written = sum(len(c.notes) for c in planned.values()), 0
    results: list[BuildResult] = []
    for target, group in packages.items():
        parts = [(sources[path].deck, planned[path].notes) for path in group]
        media = {
            name: file
            for path in group
            for name, file in media_files(sources[path], path, planned[path].lock.key).items()
        }
        told = _from(written, total, progress) if progress else None
        keys = [planned[path].lock.key for path in group]
        style = package_style(group, planned)
        write = functools.partial(
            package.write,
            parts=parts,
            beside=target,
            media=media,
            progress=told,
            keys=keys,
            style=style,
        )
        lock_writers = [(locks[path], _lock_writer(planned[path])) for path in group]
        files.write_all([(target, write), *lock_writers])  # the locks right after
        cards = {path: card_count(planned[path].notes) for path in group}
        notes = sum(len(planned[path].notes) for path in group)
        info = PackageInfo(target, notes, sum(cards.values()))
        results += [BuildResult(path, info, planned[path], cards[path]) for path in group]
        written += info.notes
    return results


def _plan_all(
    sources: Mapping[Path, Source],
    locks: Mapping[Path, Path],
    packages: Mapping[Path, list[Path]],
    out_dir: Path,
) -> dict[Path, Changes]:
    """The notes of every source with their GUIDs, deletion numbers and mod times, matched
    with its lock file and with what the package it was last built into holds. No note of one
    source may be a note of another."""
    planned: dict[Path, Changes] = {}
    for target, group in packages.items():
        for path in group:
            source = sources[path]
            lock = read_lock(locks[path])
            key = lock.key if lock else default_key(source.deck.name, locks[path])
            last = target
            if lock and lock.deck != source.deck.name and not target.exists():  # renamed since
                last = package_path(lock.deck, out_dir)
            live = [note for note in lock.notes if not note.removed] if lock else []
            known = state((note.guid, note.mod) for note in live) if lock else None
            lock = recover(lock, read_built(last, key, known), source.deck.name, key)
            notes = transform(source, key, media_names(source, path, key))
            css = style_of(source, path)
            if not css and lock and lock.style:  # a style given up: ours, as a new one
                css = package.CSS
            planned[path] = reconcile(notes, lock, source, key, build_time(), css)
    if len(planned) == 1:  # a source's own GUIDs are all different (see reconcile)
        return planned
    owner: dict[str, tuple[Path, bool]] = {}  # GUID -> its source, and if it is new there
    for path, changes in planned.items():
        new = {note.guid for note in changes.added}
        for note in changes.notes:
            other, derived = owner.setdefault(note.guid, (path, note.guid in new))
            if other == path:
                continue
            title = changes.title(note) or note.text.split("\n", 1)[0]
            if derived or note.guid in new:
                raise DeckforgeError(
                    f"{other} and {path} make one note of the card {title!r} (the same deck, "
                    "file name and card): rename one of the decks or files, or give the card "
                    "an id"
                )
            raise DeckforgeError(
                f"{other} and {path} both hold the note of the card {title!r} in their lock "
                f"files: was {locks[path]} copied from another? Move it aside and build "
                "again: its notes get identities of their own"
            )
    return planned


def _by_deck(sources: Mapping[Path, Source], out_dir: Path) -> dict[Path, list[Path]]:
    """The package of each deck name, with every source of that name (for ``sync``, which
    keeps a package of what it wrote: two files of one deck share it, each its own part)."""
    packages: dict[Path, list[Path]] = {}
    for path, source in sources.items():
        packages.setdefault(package_path(source.deck, out_dir), []).append(path)
    return packages


def _packages(
    sources: Mapping[Path, Source], out_dir: Path, bundle: str | None
) -> dict[Path, list[Path]]:
    """The package each source goes into: by its deck's name, or all into *bundle*'s."""
    if bundle is not None:
        return {package_path(bundle, out_dir): list(sources)}
    packages: dict[Path, list[Path]] = {}
    for path, source in sources.items():
        target = package_path(source.deck, out_dir)
        if target in packages:
            raise DeckforgeError(
                f"{path}: deck {source.deck.name!r} would overwrite {target}, "
                f"which {packages[target][0]} writes; give the decks different names"
            )
        packages[target] = [path]
    return packages


def _lock_writer(changes: Changes) -> files.Writer:
    return lambda f: f.writelines(piece.encode("utf-8") for piece in dump_lock(changes.lock))


def _from(before: int, total: int, progress: Progress) -> Progress:
    """*progress* told of a package's notes, as counted over every package of a build."""
    return lambda done, _: progress(before + done, total)


def _one(items: Sequence[T], path: str | os.PathLike[str]) -> T:
    if len(items) != 1:
        msg = f"{os.fspath(path)} names {len(items)} decks; build_all and diff_all take many"
        raise DeckforgeError(msg)
    return items[0]
