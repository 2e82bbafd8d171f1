"""Precision and recall of the cloze engine on the hand-labelled corpus in tests/data/corpus/.

Each corpus file is a deck of notes in the outline format of a flashcard site's export, with
every expected deletion written inline as ``[[date:...]]`` or ``[[treaty:...]]`` (see
``tests/data/corpus/LABELS.md``). Without its labels, a file is the student's notes as written:
they are read with ``deckforge import outline``, and each bullet of the deck it makes is scored.
Run ``python -m tests.cloze_scores`` to print the table.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import deckforge
from deckforge import cloze

CORPUS = Path(__file__).parent / "data" / "corpus"
_LABEL = re.compile(r"\[\[(date|treaty):([^\[\]]+)\]\]")
KINDS = ("date", "treaty")


@dataclass
class Score:
    """True positives, false positives and false negatives of one kind, with examples."""

    tp: int = 0
    fp: list[str] = field(default_factory=list)
    fn: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + len(self.fp)) if self.tp + len(self.fp) else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + len(self.fn)) if self.tp + len(self.fn) else 1.0


def unlabelled(line: str) -> tuple[str, set[tuple[int, int, str]]]:
    """*line* without its labels, and the deletions they mark as (start, end, kind)."""
    text, expected, pos = "", set(), 0
    for m in _LABEL.finditer(line):
        text += line[pos : m.start()]
        expected.add((len(text), len(text) + len(m.group(2)), m.group(1)))
        text += m.group(2)
        pos = m.end()
    text += line[pos:]
    if "[[" in text or "]]" in text:
        raise ValueError(f"malformed label: {line}")
    return text, expected


def labelled_bullets(path: Path) -> list[tuple[str, set[tuple[int, int, str]]]]:
    """Each bullet of the deck that ``deckforge import outline`` makes of *path* (its labels
    removed), with its expected deletions as (start, end, kind)."""
    text = path.read_text(encoding="utf-8")
    labelled = deckforge.import_outline(path, None)  # the labels are text to it
    expected = [unlabelled(b) for topic in labelled.topics for b in topic.bullets]
    with tempfile.TemporaryDirectory() as folder:
        notes, cards = Path(folder, path.name), Path(folder, "cards.toml")
        notes.write_text("\n".join(unlabelled(line)[0] for line in text.split("\n")), "utf-8")
        deckforge.import_outline(notes, cards)
        source = deckforge.load(cards)
    bullets = [bullet for card in source.cards for bullet in card.bullets]
    if bullets != [text for text, _ in expected]:
        raise ValueError(f"{path.name}: the imported deck's bullets are not the labelled ones")
    return expected


def score(path: Path) -> dict[str, Score]:
    scores = {kind: Score() for kind in KINDS}
    for text, expected in labelled_bullets(path):
        found = {(s.start, s.end, s.kind) for s in cloze.find(text)}
        for start, end, kind in found | expected:
            where = f"{text[start:end]!r} in {text!r}"
            if (start, end, kind) in found & expected:
                scores[kind].tp += 1
            elif (start, end, kind) in found:
                scores[kind].fp.append(where)
            else:
                scores[kind].fn.append(where)
    return scores


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.txt"))


def main() -> None:
    print(f"{'deck':28} {'kind':7} {'labels':>6} {'precision':>9} {'recall':>7}")
    for path in corpus_files():
        for kind, s in score(path).items():
            labels = s.tp + len(s.fn)
            print(f"{path.stem:28} {kind:7} {labels:6} {s.precision:9.3f} {s.recall:7.3f}")
            for miss in s.fn:
                print(f"    missed   {miss}")
            for extra in s.fp:
                print(f"    spurious {extra}")


if __name__ == "__main__":
    main()
