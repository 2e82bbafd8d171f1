"""Check a package the way Anki will see it: import it into a throwaway collection.

Needs the official ``anki`` package (``pip install anki``, or the ``anki`` extra of deckforge).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DeckforgeError
from .words import plural


@dataclass
class VerifyReport:
    """What Anki made of a package, and every problem it showed."""

    path: Path
    decks: list[str] = field(default_factory=list)
    notes: int = 0
    cards: int = 0
    empty_cards: int = 0
    media: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.path}: {plural(len(self.decks), 'deck')} ({', '.join(self.decks)}), "
            f"{plural(self.notes, 'note')}, {plural(self.cards, 'card')}, "
            f"{plural(self.empty_cards, 'empty card')}, {plural(self.media, 'media file')}"
        )


def verify(path: str | os.PathLike[str]) -> VerifyReport:
    """Import the package at *path* into a new, temporary Anki collection and report on it."""
    try:
        from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
    except ImportError:
        raise DeckforgeError(
            "deckforge verify needs Anki's own Python package: pip install 'anki>=25.2'"
        ) from None
    report = VerifyReport(Path(path))
    if not report.path.is_file():
        raise DeckforgeError(f"{path}: no such file")
    with tempfile.TemporaryDirectory(prefix="deckforge-verify-") as folder:
        col = Collection(os.path.join(folder, "collection.anki2"))
        try:
            request = ImportAnkiPackageRequest(
                package_path=os.fspath(path),
                options=ImportAnkiPackageOptions(with_scheduling=False),
            )
            try:
                log = col.import_anki_package(request).log
            except Exception as e:  # anki raises its own errors for files it cannot read
                report.problems.append(f"Anki cannot import it: {e}")
                return report
            for kind in ("conflicting", "missing_notetype", "missing_deck", "empty_first_field"):
                count = len(getattr(log, kind))
                if count:
                    report.problems.append(f"{count} notes {kind.replace('_', ' ')}")
            report.decks = sorted(
                d.name for d in col.decks.all_names_and_ids(skip_empty_default=True)
            )
            report.notes, report.cards = col.note_count(), col.card_count()
            if not report.notes:
                report.problems.append("it holds no notes")
            empty = col.get_empty_cards()
            report.empty_cards = sum(len(n.card_ids) for n in empty.notes)
            if report.empty_cards:
                report.problems.append(f"{report.empty_cards} cards render empty")
            media = col.media.check()
            report.media = len(os.listdir(col.media.dir()))
            if media.missing:
                report.problems.append(f"notes refer to missing media: {', '.join(media.missing)}")
        finally:
            col.close()
    return report
