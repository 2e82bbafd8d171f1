"""Run the ``deckforge`` command with the arguments given, then print which of the modules that
are slow to import it imported: ``python -m tests.scripts.modules_loaded check cards.toml``."""

from __future__ import annotations

import atexit
import sys

SLOW = (
    "anki",
    "deckforge.cloze",
    "deckforge.identity",
    "deckforge.notes",
    "deckforge.package",
    "genanki",
    "pydantic",
    "tomlkit",
    "tree_sitter",
)


def report() -> None:
    print(sorted(m for m in sys.modules if m in SLOW))


def main() -> None:
    atexit.register(report)
    sys.argv = ["deckforge", *sys.argv[1:]]
    from deckforge.cli import main as deckforge

    deckforge()


if __name__ == "__main__":
    main()
