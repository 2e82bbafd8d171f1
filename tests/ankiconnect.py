"""An AnkiConnect server for tests: the add-on's HTTP protocol (version 6) on 127.0.0.1, over a
real collection opened with the ``anki`` package.

It answers as the real add-on does (``../shared/ANKI.md``, "AnkiConnect"): one JSON request per
POST, ``{"result": ..., "error": null}`` or ``{"result": null, "error": "..."}``; "unsupported
action" for an action it lacks; "cannot create note because it is a duplicate" for a second
note with the same first field in a note type; "deck was not found: X"; ``addNotes`` gives
``null`` for a note it could not add, with no reason; ``notesInfo`` has no GUIDs and there is
no GUID lookup; ``importPackage`` and ``exportPackage`` do what the add-on's legacy importer and
exporter do; ``multi`` answers each action on its own.

Every action received is kept in ``calls``, for tests to see what a client asked for.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

Action = Callable[..., Any]
ACTIONS: dict[str, Action] = {}


def action(function: Action) -> Action:
    ACTIONS[function.__name__] = function
    return function


class AnkiConnectServer:
    """Serves *col* on *port* (a free one by default) of 127.0.0.1 while in a ``with``
    block."""

    def __init__(self, col: Any, port: int = 0) -> None:
        self.col = col
        self.calls: list[str] = []
        self.lock = threading.Lock()  # one request at a time, as in Anki's main thread
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                body = json.dumps(served.answer(request)).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = HTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> AnkiConnectServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("action", "")
        self.calls.append(name)
        try:
            if name not in ACTIONS:
                raise Exception("unsupported action")
            with self.lock:
                if name == "multi":
                    result: Any = [self.answer(a) for a in request["params"]["actions"]]
                else:
                    result = ACTIONS[name](self.col, **request.get("params", {}))
        except Exception as e:  # the add-on turns every exception into its message
            return {"result": None, "error": str(e)}
        return {"result": result, "error": None}


@action
def multi(col: Any, actions: list[Any]) -> None:
    raise AssertionError("answered by the server itself")


@action
def version(col: Any) -> int:
    return 6


@action
def deckNames(col: Any) -> list[str]:
    return [d.name for d in col.decks.all_names_and_ids()]


@action
def createDeck(col: Any, deck: str) -> int:
    return int(col.decks.id(deck))


@action
def deleteDecks(col: Any, decks: list[str], cardsToo: bool = False) -> None:
    if not cardsToo:
        raise Exception(
            "Since Anki 2.1.28 it's not possible to delete decks without deleting cards as well"
        )
    col.decks.remove([col.decks.id(name) for name in decks if col.decks.by_name(name)])


@action
def findCards(col: Any, query: str | None = None) -> list[int]:
    return [int(c) for c in col.find_cards(query)] if query is not None else []


@action
def getDecks(col: Any, cards: list[int]) -> dict[str, list[int]]:
    decks: dict[str, list[int]] = {}
    for cid in cards:
        decks.setdefault(col.decks.name(col.get_card(cid).did), []).append(cid)
    return decks


@action
def cardsInfo(col: Any, cards: list[int]) -> list[Any]:
    found: list[Any] = []
    for cid in cards:
        try:
            card = col.get_card(cid)
        except Exception:
            found.append({})
            continue
        found.append({"cardId": card.id, "note": card.nid, "ord": card.ord,
                      "deckName": col.decks.name(card.did), "mod": card.mod})  # fmt: skip
    return found


def _model(col: Any, name: str) -> Any:
    model = col.models.by_name(name)
    if model is None:
        raise Exception(f"model was not found: {name}")
    return model


def _field(col: Any, model: Any, name: str) -> Any:
    fields = col.models.field_map(model)
    if name not in fields:
        raise Exception(f"field was not found in {model['name']}: {name}")
    return fields[name][1]


@action
def modelNames(col: Any) -> list[str]:
    return [m.name for m in col.models.all_names_and_ids()]


@action
def modelNamesAndIds(col: Any) -> dict[str, int]:
    return {m.name: int(m.id) for m in col.models.all_names_and_ids()}


@action
def modelFieldNames(col: Any, modelName: str) -> list[str]:
    return [f["name"] for f in _model(col, modelName)["flds"]]


@action
def modelFieldRename(col: Any, modelName: str, oldFieldName: str, newFieldName: str) -> None:
    model = _model(col, modelName)
    col.models.rename_field(model, _field(col, model, oldFieldName), newFieldName)
    col.models.update_dict(model)


@action
def modelFieldAdd(col: Any, modelName: str, fieldName: str, index: int | None = None) -> None:
    model = _model(col, modelName)
    if fieldName not in col.models.field_map(model):
        col.models.add_field(model, col.models.new_field(fieldName))
    if index is not None:
        col.models.reposition_field(model, _field(col, model, fieldName), index)
    col.models.update_dict(model)


@action
def modelFieldRemove(col: Any, modelName: str, fieldName: str) -> None:
    model = _model(col, modelName)
    col.models.remove_field(model, _field(col, model, fieldName))
    col.models.update_dict(model)


@action
def findModelsByName(col: Any, modelNames: list[str]) -> list[dict[str, Any]]:
    return [_model(col, name) for name in modelNames]


@action
def updateModelStyling(col: Any, model: dict[str, Any]) -> None:
    notetype = _model(col, model["name"])
    notetype["css"] = model["css"]
    col.models.update_dict(notetype)


@action
def findNotes(col: Any, query: str | None = None) -> list[int]:
    return [int(n) for n in col.find_notes(query)] if query is not None else []


@action
def notesInfo(col: Any, notes: list[int] | None = None, query: str | None = None) -> list[Any]:
    if notes is None and query is None:
        raise Exception('Must provide either "notes" or a "query"')
    found: list[Any] = []
    for nid in findNotes(col, query) if query is not None else notes or []:
        try:
            note = col.get_note(nid)
        except Exception:
            found.append({})
            continue
        model = note.note_type()
        found.append({
            "noteId": note.id,
            "tags": note.tags,
            "fields": {
                f["name"]: {"value": note.fields[f["ord"]], "order": f["ord"]}
                for f in model["flds"]
            },
            "modelName": model["name"],
            "mod": note.mod,
            "cards": col.db.list("select id from cards where nid=? order by ord", nid),
        })  # fmt: skip
    return found


def _note(col: Any, note: dict[str, Any]) -> Any:
    """A new note of *note* (AnkiConnect's form), checked as the add-on checks it."""
    from anki.notes import Note

    model = _model(col, note["modelName"])
    deck = col.decks.by_name(note["deckName"])
    if deck is None:
        raise Exception(f"deck was not found: {note['deckName']}")
    made: Any = Note(col, model)
    made.tags = list(note.get("tags", []))
    for name, value in note["fields"].items():
        for field in made.keys():  # noqa: SIM118 (a Note is no mapping)
            if name.lower() == field.lower():
                made[field] = value
    state = made.fields_check()
    if state == 1:
        raise Exception("cannot create note because it is empty")
    if state == 2 and not note.get("options", {}).get("allowDuplicate", False):
        raise Exception("cannot create note because it is a duplicate")
    return made, deck["id"]


@action
def addNote(col: Any, note: dict[str, Any]) -> int:
    made, deck = _note(col, note)
    col.add_note(made, deck)
    return int(made.id)


@action
def addNotes(col: Any, notes: list[dict[str, Any]]) -> list[int | None]:
    added: list[int | None] = []
    for note in notes:
        try:
            added.append(addNote(col, note))
        except Exception:
            added.append(None)  # the reason is not given
    return added


@action
def canAddNotes(col: Any, notes: list[dict[str, Any]]) -> list[bool]:
    def can(note: dict[str, Any]) -> bool:
        try:
            return bool(_note(col, note))
        except Exception:
            return False

    return [can(note) for note in notes]


def _existing(col: Any, nid: int) -> Any:
    try:
        return col.get_note(nid)
    except Exception:
        raise Exception(f"Note was not found: {nid}") from None


@action
def updateNoteFields(col: Any, note: dict[str, Any]) -> None:
    existing = _existing(col, note["id"])
    for name, value in note["fields"].items():
        if name in existing:
            existing[name] = value
    col.update_note(existing, skip_undo_entry=True)


@action
def updateNote(col: Any, note: dict[str, Any]) -> None:
    if "fields" not in note and "tags" not in note:
        raise Exception('Must provide a "fields" or "tags" property.')
    if "fields" in note:
        updateNoteFields(col, note)
    if "tags" in note:
        existing = _existing(col, note["id"])
        existing.tags = list(note["tags"])
        col.update_note(existing, skip_undo_entry=True)


@action
def addTags(col: Any, notes: list[int], tags: str, add: bool = True) -> None:
    if add:
        col.tags.bulk_add(notes, tags)
    else:
        col.tags.bulk_remove(notes, tags)


@action
def removeTags(col: Any, notes: list[int], tags: str) -> None:
    addTags(col, notes, tags, add=False)


@action
def deleteNotes(col: Any, notes: list[int]) -> None:
    col.remove_notes(notes)


@action
def changeDeck(col: Any, cards: list[int], deck: str) -> None:
    col.set_deck(cards, col.decks.id(deck))


@action
def storeMediaFile(
    col: Any, filename: str, data: str | None = None, path: str | None = None
) -> str:
    if data is not None:
        content = base64.b64decode(data)
    elif path is not None:
        with open(path, "rb") as f:
            content = f.read()
    else:
        raise Exception('You must provide a "data", "path", or "url" field.')
    return str(col.media.write_data(filename, content))


@action
def exportPackage(col: Any, deck: str, path: str, includeSched: bool = False) -> bool:
    from anki.collection import DeckIdLimit, ExportAnkiPackageOptions

    found = col.decks.by_name(deck)
    if found is None:
        return False
    # what the add-on's AnkiPackageExporter (anki.exporting) does
    options = ExportAnkiPackageOptions(
        with_scheduling=includeSched, with_deck_configs=includeSched, with_media=True, legacy=True
    )
    col.export_anki_package(out_path=path, options=options, limit=DeckIdLimit(found["id"]))
    return True


@action
def importPackage(col: Any, path: str) -> bool:
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    # what the add-on's AnkiPackageImporter (anki.importing) does
    options = ImportAnkiPackageOptions(
        merge_notetypes=True, with_scheduling=True, with_deck_configs=True
    )
    col.import_anki_package(ImportAnkiPackageRequest(package_path=path, options=options))
    return True


def main() -> None:
    """``python tests/ankiconnect.py COLLECTION [PORT]``: serve the collection file until
    standard input closes (for bench/sync.py); prints the URL first."""
    import sys

    from anki.collection import Collection

    col = Collection(sys.argv[1])
    try:
        with AnkiConnectServer(col, int(sys.argv[2]) if len(sys.argv) > 2 else 0) as server:
            print(server.url, flush=True)
            sys.stdin.read()
    finally:
        col.close()


if __name__ == "__main__":
    main()
