"""The cloze engine on hand-labelled decks: precision and recall of each kind at least 0.97."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cloze_scores import KINDS, corpus_files, labelled_bullets, score

FILES = corpus_files()
LEAST = 0.97


def test_corpus_has_the_seed_and_decks_of_other_subjects_and_styles() -> None:
    assert {p.stem for p in FILES} >= {
        "stalin-foreign-policy",
        "science-history",
        "cold-war",
        "napoleonic-europe",  # terse, abbreviations, numeric dates
        "american-expansion",  # full sentences, US dates, many numbers that are not dates
        "europe-1919-1991",  # a German student's dotted dates, mixed registers
    }
    for path in FILES:
        labels = [kind for _, expected in labelled_bullets(path) for *_, kind in expected]
        assert all(labels.count(kind) >= 10 for kind in KINDS), path.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("kind", KINDS)
def test_precision_and_recall(path: Path, kind: str) -> None:
    result = score(path)[kind]
    assert result.precision >= LEAST, result.fp
    assert result.recall >= LEAST, result.fn


def test_seed_deck_is_marked_exactly() -> None:
    seed = next(p for p in FILES if p.stem == "stalin-foreign-policy")
    for kind in KINDS:
        assert not score(seed)[kind].fp
        assert not score(seed)[kind].fn


def test_seed_corpus_is_the_repository_deck() -> None:
    import deckforge

    from .conftest import SEED

    bullets = [text for text, _ in labelled_bullets(next(p for p in FILES if "stalin" in p.stem))]
    assert bullets == [b for card in deckforge.load(SEED).cards for b in card.bullets]
