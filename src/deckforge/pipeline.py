"""The whole pipeline for one source file: load, transform, match with the lock, package."""

from __future__ import annotations

import gc
import glob
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import PackageError, Problem, SourceError
from .identity import (
    Changes,
    build_time,
    dump_lock,
    lock_path,
    media_name,
    read_lock,
    reconcile,
)
from .notes import Note, transform
from .package import FilesAside, PackageInfo, Progress, export_bundle
from .schema import Deck, Source
from .source import load


@dataclass(frozen=True)
class BuildResult:
    """One built deck: where its package went, what it holds, and what changed since the lock."""

    source: Path
    package: PackageInfo
    notes: tuple[Note, ...]
    changes: Changes

    def summary(self) -> str:
        qa = sum(1 for n in self.notes if n.kind == "qa")
        return (
            f"{self.package.path}: {self.package.notes} notes "
            f"({qa} question/answer, {self.package.notes - qa} cloze), "
            f"{self.package.cards} cards; {self.changes.summary()}"
        )


_WAIT_FOR_BUILD = 600  # seconds to wait for another build into the same folder
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
def _building(target: Path, locks: list[Path]) -> Iterator[None]:
    """Hold the output folder's build lock, so that two builds never write at once, and clear
    what a build that was killed left behind (its temporary files, never a finished one)."""
    from filelock import FileLock, Timeout

    lock = target.parent / ".deckforge.lock"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(lock, os.O_RDWR | os.O_CREAT, 0o644))  # fails fast where FileLock waits
    except OSError as e:
        raise PackageError(f"cannot write to {target.parent}: {e.strerror or e}") from None
    try:
        with FileLock(lock, timeout=_WAIT_FOR_BUILD):
            for leftover in (target, *locks):
                for path in leftover.parent.glob(f".{glob.escape(leftover.name)}.*"):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            yield
    except Timeout:
        raise PackageError(
            f"another build has been writing to {target.parent} for {_WAIT_FOR_BUILD} s"
        ) from None


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


def media_files(source: Source, path: str | os.PathLike[str]) -> dict[str, Path]:
    """The images *source* (read from *path*) shows, by the name they get in Anki."""
    folder = Path(path).parent
    return {
        media_name(source.deck.name, image): folder / image
        for card in source.cards
        for image in card.images
    }


def plan(source: Source, path: str | os.PathLike[str]) -> tuple[list[Note], Changes]:
    """The notes for *source* with their GUIDs and mod times, matched against its lock file."""
    notes = transform(source)
    lock = read_lock(lock_path(path))
    if lock is not None and lock.deck != source.deck.name:
        msg = (
            f"was written for the deck {lock.deck!r}, not {source.deck.name!r}: a copy from "
            "another deck, or the deck was renamed (Anki would start a new deck and keep the "
            "notes in the old one). Rename the deck back, or delete the lock file to start anew"
        )
        raise SourceError([Problem(os.fspath(lock_path(path)), 0, 0, "", msg)])
    card_ids = [card.id for card in source.cards]
    return reconcile(notes, lock, source.deck.name, build_time(), card_ids)


def diff(path: str | os.PathLike[str]) -> Changes:
    """What building the source at *path* and importing it would change in Anki."""
    with _gc_paused():
        return plan(load(path), path)[1]


def build(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist") -> BuildResult:
    """Build the deck in the source file *path* into ``<out_dir>/<deck-slug>.apkg``.

    The lock file beside the source (``cards.lock`` for ``cards.toml``) is read to keep each
    note's identity, and rewritten once the package is in place.
    """
    with _gc_paused():
        return build_source(load(path), path, out_dir)


def build_source(
    source: Source,
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] = "dist",
    progress: Progress | None = None,
) -> BuildResult:
    """Build an already loaded *source*, read from *path*; *progress* is told of each note."""
    return build_bundle({Path(path): source}, None, out_dir, progress)[0]


def build_bundle(
    sources: Mapping[Path, Source],
    name: str | None,
    out_dir: str | os.PathLike[str] = "dist",
    progress: Progress | None = None,
) -> list[BuildResult]:
    """Build every source into one package named after *name* (with ``None``, the one source
    into a package named after its deck); each source's lock file is then rewritten."""
    if name is None:
        (only,) = sources.values()
        name = only.deck.name
    target = package_path(name, out_dir)
    with _gc_paused(), _building(target, [lock_path(path) for path in sources]):
        plans = {path: plan(source, path) for path, source in sources.items()}
        media = {
            k: v for path, source in sources.items() for k, v in media_files(source, path).items()
        }
        parts = [(sources[path].deck, notes) for path, (notes, _) in plans.items()]
        # the lock files are written meanwhile; the package replaces the old one only once
        # they are written, and they are put in place right after it
        locks = [(lock_path(path), dump_lock(changes.lock)) for path, (_, changes) in plans.items()]
        with FilesAside(locks) as aside:
            info = export_bundle(parts, target, media, progress, before_replace=aside.ready)
            aside.commit()
    return [
        BuildResult(path, info, tuple(notes), changes) for path, (notes, changes) in plans.items()
    ]
