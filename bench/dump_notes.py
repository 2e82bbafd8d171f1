"""The notes deckforge makes of a source, and its note types, as JSON for ``genanki_build.py``
(which then imports nothing of deckforge): ``python bench/dump_notes.py cards.toml notes.json``."""

from __future__ import annotations

import json
import sys

import deckforge
from deckforge import package


def main() -> None:
    notes = deckforge.transform(deckforge.load(sys.argv[1]))
    models = {
        kind: {
            "model_id": m.model_id,
            "name": m.name,
            "fields": m.fields,
            "templates": m.templates,
            "css": m.css,
            "model_type": m.model_type,
        }
        for kind, m in package._models().items()
    }
    data = {
        "models": models,
        "notes": [
            {"kind": n.kind, "fields": list(n.fields), "tags": list(n.tags), "guid": n.guid}
            for n in notes
        ],
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main()
