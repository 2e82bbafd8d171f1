"""The baseline: genanki alone writing the notes of ``dump_notes.py``, in a fresh process.

``python bench/genanki_build.py NOTES.json OUT.apkg`` prints the seconds of the work itself,
from reading the notes to the written package (``write_to_file`` does most of it).
"""

from __future__ import annotations

import json
import sys
import time

import genanki


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    start = time.perf_counter()
    models = {kind: genanki.Model(**model) for kind, model in data["models"].items()}
    deck = genanki.Deck(1234567890, "Benchmark")
    for n in data["notes"]:
        kind, fields, tags, guid = n["kind"], n["fields"], n["tags"], n["guid"]
        deck.add_note(genanki.Note(model=models[kind], fields=fields, tags=tags, guid=guid))
    genanki.Package(deck).write_to_file(sys.argv[2], timestamp=1800000000)
    print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
