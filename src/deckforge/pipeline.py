"""The whole pipeline for one source file: load, transform, match with the lock, package."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .identity import Changes, build_time, dump_lock, lock_path, read_lock, reconcile
from .notes import Note, transform
from .package import PackageInfo, export, write_atomic
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


def package_path(deck: Deck, out_dir: str | os.PathLike[str]) -> Path:
    """``dist/stalin-foreign-policy.apkg`` for the deck "Stalin foreign policy"."""
    slug = re.sub(r"[\W_]+", "-", deck.name.casefold()).strip("-") or "deck"
    return Path(out_dir) / f"{slug}.apkg"


def plan(source: Source, path: str | os.PathLike[str]) -> tuple[list[Note], Changes]:
    """The notes for *source* with their GUIDs and mod times, matched against its lock file."""
    notes = transform(source)
    lock = read_lock(lock_path(path))
    card_ids = [card.id for card in source.cards]
    return reconcile(notes, lock, source.deck.name, build_time(), card_ids)


def diff(path: str | os.PathLike[str]) -> Changes:
    """What building the source at *path* and importing it would change in Anki."""
    return plan(load(path), path)[1]


def build(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist") -> BuildResult:
    """Build the deck in the source file *path* into ``<out_dir>/<deck-slug>.apkg``.

    The lock file beside the source (``cards.lock`` for ``cards.toml``) is read to keep each
    note's identity, and rewritten once the package is in place.
    """
    return build_source(load(path), path, out_dir)


def build_source(
    source: Source, path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist"
) -> BuildResult:
    """Build an already loaded *source*, read from *path*."""
    notes, changes = plan(source, path)
    info = export(source.deck, notes, package_path(source.deck, out_dir))
    write_atomic(lock_path(path), dump_lock(changes.lock).encode("utf-8"))
    return BuildResult(Path(path), info, tuple(notes), changes)
