"""The whole pipeline for one source file: load, transform, package into the output folder."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .notes import Note, transform
from .package import PackageInfo, export
from .schema import Deck, Source
from .source import load


@dataclass(frozen=True)
class BuildResult:
    """One built deck: where its package went and what it holds."""

    source: Path
    package: PackageInfo
    notes: tuple[Note, ...]

    def summary(self) -> str:
        qa = sum(1 for n in self.notes if n.kind == "qa")
        return (
            f"{self.package.path}: {self.package.notes} notes "
            f"({qa} question/answer, {self.package.notes - qa} cloze), {self.package.cards} cards"
        )


def package_path(deck: Deck, out_dir: str | os.PathLike[str]) -> Path:
    """``dist/stalin-foreign-policy.apkg`` for the deck "Stalin foreign policy"."""
    slug = re.sub(r"[\W_]+", "-", deck.name.casefold()).strip("-") or "deck"
    return Path(out_dir) / f"{slug}.apkg"


def build(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist") -> BuildResult:
    """Build the deck in the source file *path* into ``<out_dir>/<deck-slug>.apkg``."""
    return build_source(load(path), path, out_dir)


def build_source(
    source: Source, path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "dist"
) -> BuildResult:
    """Build an already loaded *source*, read from *path*."""
    notes = transform(source)
    info = export(source.deck, notes, package_path(source.deck, out_dir))
    return BuildResult(Path(path), info, tuple(notes))
