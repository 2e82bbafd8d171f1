"""Precision and recall of the cloze engine on the hand-labelled corpus in tests/data/corpus/.

Each corpus file is a deck written as notes: ``# deck: NAME``, ``## TITLE`` for each card, and
one bullet per line with every expected deletion wrapped as ``[[date:...]]`` or
``[[treaty:...]]``. Run ``python -m tests.cloze_scores`` to print the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


def labelled_bullets(path: Path) -> Iterator[tuple[str, set[tuple[int, int, str]]]]:
    """Each bullet's plain text and its expected deletions as (start, end, kind)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, expected, pos = "", set(), 0
        for m in _LABEL.finditer(line):
            text += line[pos : m.start()]
            expected.add((len(text), len(text) + len(m.group(2)), m.group(1)))
            text += m.group(2)
            pos = m.end()
        text += line[pos:]
        if "[[" in text or "]]" in text:
            raise ValueError(f"{path.name}: malformed label: {line}")
        yield text, expected


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
