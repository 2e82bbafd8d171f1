"""deckforge: turn study notes in ``cards.toml`` into a tagged Anki deck (``.apkg``).

>>> import deckforge
>>> source = deckforge.load("cards.toml")
>>> notes = deckforge.transform(source)
>>> deckforge.export(source.deck, notes, "dist/my-deck.apkg")
"""

from .errors import DeckforgeError, PackageError, Problem, SourceError
from .identity import Changes, Lock, LockedNote, Update
from .notes import Note, transform
from .package import PackageInfo, export, export_bundle
from .pipeline import BuildResult, build, build_bundle, diff, package_path, sources_in
from .schema import Card, Deck, Source
from .source import load, loads
from .verification import VerifyReport, verify

__version__ = "0.1.0"

__all__ = [
    "BuildResult",
    "Card",
    "Changes",
    "Deck",
    "DeckforgeError",
    "Lock",
    "LockedNote",
    "Note",
    "PackageError",
    "PackageInfo",
    "Problem",
    "Source",
    "SourceError",
    "Update",
    "VerifyReport",
    "__version__",
    "build",
    "build_bundle",
    "diff",
    "export",
    "export_bundle",
    "load",
    "loads",
    "package_path",
    "sources_in",
    "transform",
    "verify",
]
