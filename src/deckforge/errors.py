"""The exceptions deckforge raises: one base class, each subclass carrying where it went wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class DeckforgeError(Exception):
    """Base class of every error deckforge reports to a user."""


@dataclass(frozen=True)
class Problem:
    """One located mistake in a source file.

    ``where`` names the place in the data, e.g. ``cards[7] ("germany"): bullets[2]``.
    """

    path: str
    lineno: int
    colno: int
    where: str
    msg: str

    def __str__(self) -> str:
        # lineno 0: the problem is with the file as a whole (e.g. it cannot be read)
        place = f"{self.path}:{self.lineno}:{self.colno}:" if self.lineno else f"{self.path}:"
        where = f" {self.where}:" if self.where else ""
        return f"{place}{where} {self.msg}"


class SourceError(DeckforgeError):
    """A source file that cannot be read as a deck; holds every problem found in it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.path, p.lineno, p.colno)))
        super().__init__("\n".join(map(str, self.problems)))


class PackageError(DeckforgeError):
    """A package, a lock file or another file could not be written."""
