"""deckforge: turn study notes in ``cards.toml`` into a tagged Anki deck (``.apkg``).

>>> import deckforge
>>> source = deckforge.load("cards.toml")
>>> notes = deckforge.transform(source)
>>> deckforge.export(source.deck, notes, "dist/my-deck.apkg")

Names are imported on first use, so that ``deckforge --version`` and ``--help`` start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "BuildResult": "pipeline",
    "Card": "schema",
    "Changes": "identity",
    "ClozeOptions": "schema",
    "Deck": "schema",
    "DeckforgeError": "errors",
    "Lock": "identity",
    "LockedNote": "identity",
    "Note": "notes",
    "Outline": "start",
    "PackageError": "errors",
    "PackageInfo": "package",
    "Problem": "errors",
    "Source": "schema",
    "SourceError": "errors",
    "ANKICONNECT": "backends",
    "SyncError": "sending",
    "SyncOptions": "sending",
    "SyncPlan": "sending",
    "SyncResult": "sending",
    "Update": "identity",
    "VerifyReport": "verification",
    "build": "pipeline",
    "build_all": "pipeline",
    "build_source": "pipeline",
    "diff": "pipeline",
    "diff_all": "pipeline",
    "dump": "source",
    "dumps": "source",
    "export": "package",
    "export_bundle": "package",
    "import_outline": "start",
    "init": "start",
    "json_schema": "schema",
    "load": "source",
    "load_all": "source",
    "loads": "source",
    "package_path": "pipeline",
    "preview_page": "pipeline",
    "sources_in": "source",
    "sync": "sending",
    "transform": "notes",
    "verify": "verification",
}
__all__ = [
    "ANKICONNECT",
    "BuildResult",
    "Card",
    "Changes",
    "ClozeOptions",
    "Deck",
    "DeckforgeError",
    "Lock",
    "LockedNote",
    "Note",
    "Outline",
    "PackageError",
    "PackageInfo",
    "Problem",
    "Source",
    "SourceError",
    "SyncError",
    "SyncOptions",
    "SyncPlan",
    "SyncResult",
    "Update",
    "VerifyReport",
    "__version__",
    "build",
    "build_all",
    "build_source",
    "diff",
    "diff_all",
    "dump",
    "dumps",
    "export",
    "export_bundle",
    "import_outline",
    "init",
    "json_schema",
    "load",
    "load_all",
    "loads",
    "package_path",
    "preview_page",
    "sources_in",
    "sync",
    "transform",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'deckforge' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:
    from .backends import ANKICONNECT
    from .errors import DeckforgeError, PackageError, Problem, SourceError
    from .identity import Changes, Lock, LockedNote, Update
    from .notes import Note, transform
    from .package import PackageInfo, export, export_bundle
    from .pipeline import (
        BuildResult,
        build,
        build_all,
        build_source,
        diff,
        diff_all,
        package_path,
    )
    from .schema import Card, ClozeOptions, Deck, Source, json_schema
    from .sending import SyncError, SyncOptions, SyncPlan, SyncResult, sync
    from .source import dump, dumps, load, load_all, loads, sources_in
    from .start import Outline, import_outline, init
    from .verification import VerifyReport, verify
