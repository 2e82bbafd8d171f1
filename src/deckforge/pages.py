"""The cards as Anki will show them, on one page: ``deckforge preview --html``.

Each note's cards are rendered from the package's own templates and CSS, as Anki renders them:
a question/answer note's one card, a cloze note's card for each deletion number (the deletion
asked for shown as ``[...]``, the others as text). The page holds everything it shows, images
included, and a switch for night mode.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from .cloze import DELETION, unescape
from .notes import Note
from .package import CSS, TEMPLATES

_FIELD = re.compile(r"\{\{([^{}#/][^{}]*)\}\}")
_IMAGE = re.compile(r'<img src="([^"]+)">')


def card_sides(note: Note, ordinal: int) -> tuple[str, str]:
    """The HTML of the front and the back of *note*'s card *ordinal* (``c1`` is 0), as Anki
    renders the note's templates (without the CSS)."""
    fields = dict(zip(note.model_fields, note.fields, strict=True))
    front, back = TEMPLATES[note.kind]
    return _render(front, fields, ordinal, question=True), _render(
        back, fields, ordinal, question=False
    )


def _render(template: str, fields: Mapping[str, str], ordinal: int, *, question: bool) -> str:
    # {{#Field}}...{{/Field}}: the part shown when the field is not empty
    for name, value in fields.items():
        shown = r"\1" if value.strip() else ""
        pattern = rf"\{{\{{#{re.escape(name)}\}}\}}(.*?)\{{\{{/{re.escape(name)}\}}\}}"
        template = re.sub(pattern, shown, template, flags=re.DOTALL)

    def field(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("cloze:"):
            return _cloze(fields[name.removeprefix("cloze:")], ordinal + 1, question=question)
        return fields[name]

    return _FIELD.sub(field, template)


def _cloze(text: str, number: int, *, question: bool) -> str:
    def deletion(m: re.Match[str]) -> str:  # in the markup Anki writes
        answer, ordinal = m.group(2), m.group(1)
        if int(ordinal) != number:
            return f'<span class="cloze-inactive" data-ordinal="{ordinal}">{answer}</span>'
        if question:
            hidden = html.escape(answer)
            return (
                f'<span class="cloze" data-cloze="{hidden}" data-ordinal="{ordinal}">[...]</span>'
            )
        return f'<span class="cloze" data-ordinal="{ordinal}">{answer}</span>'

    return DELETION.sub(deletion, text)


def page(decks: Sequence[tuple[str, Sequence[Note]]], media: Mapping[str, Path]) -> str:
    """One HTML page showing every card of *decks* (each a name and its notes), front and back;
    *media* are the image files by their name in the package, embedded in the page."""
    sections = []
    for name, notes in decks:
        cards = []
        for note in notes:
            for ordinal in note.ords:
                front, back = (_embedded(side, media) for side in card_sides(note, ordinal))
                label = f"c{ordinal + 1}" if note.kind == "cloze" else "question/answer"
                cards.append(
                    f'<article class="pair" data-guid="{html.escape(note.guid)}" '
                    f'data-ordinal="{ordinal}"><h2>{html.escape(label)}</h2>'
                    f'<div class="card side" data-side="front">{front}</div>'
                    f'<div class="card side" data-side="back">{back}</div></article>'
                )
        sections.append(f"<section><h1>{html.escape(name)}</h1>{''.join(cards)}</section>")
    return _PAGE.format(css=CSS, cards="".join(sections))


def _embedded(side: str, media: Mapping[str, Path]) -> str:
    def image(m: re.Match[str]) -> str:
        path = media.get(unescape(m.group(1)))
        if path is None or not path.is_file():
            return m.group()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img src="data:{kind};base64,{data}">'

    return _IMAGE.sub(image, side)


# how every page starts: a file that starts otherwise is not replaced by one
PAGE_START = '<!DOCTYPE html>\n<html lang="en" data-made-by="deckforge preview">\n'
_PAGE = (
    PAGE_START
    + """\
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>deckforge preview</title>
<style>
{css}
body {{ margin: 0; padding: 1em; background: #f6f8fa; font-family: sans-serif; }}
body.night {{ background: #010409; color: #e6edf3; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin: 0 0 1.5em; }}
.pair h2 {{ grid-column: 1 / 3; margin: 0; font-size: 0.8em; color: #656d76; }}
.pair .card.side {{ max-width: none; margin: 0; border: 1px solid #d0d7de; border-radius: 6px; }}
@media (max-width: 700px) {{
  .pair {{ grid-template-columns: 1fr; }}
  .pair h2 {{ grid-column: 1; }}
}}
</style>
</head>
<body>
<label><input type="checkbox" id="night"> night mode</label>
{cards}
<script>
document.getElementById("night").addEventListener("change", function (event) {{
  document.body.classList.toggle("night", event.target.checked);
  document.querySelectorAll(".card").forEach(function (card) {{
    card.classList.toggle("nightMode", event.target.checked);
  }});
}});
</script>
</body>
</html>
"""
)
