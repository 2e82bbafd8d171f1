"""``deckforge preview --html``: the page, loaded in a real headless browser (Debian's chromium,
installed by ``make test``), shows each card's front and back as the real anki package renders
them."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import deckforge
from deckforge.cli import cli

from .conftest import DATA, SEED, import_package
from .test_decks import PNG
from .test_formats import MARKDOWN

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
# A script the test puts into a copy of the page: what the browser shows of each side, and any
# error the page's own script raised.
PROBE = """<script>
var root = document.documentElement;
window.addEventListener("error", function (e) { root.dataset.error = e.message; });
window.addEventListener("load", function () {
  document.querySelectorAll(".side").forEach(function (side) {
    side.dataset.shown = side.innerText;
  });
  document.getElementById("night").click();
  root.dataset.night = String(document.querySelector(".card.nightMode") !== null);
  root.dataset.loaded = "yes";
});
</script>"""


def browser_dom(page: Path, tmp_path: Path) -> str:
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1))
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


class _Sides(HTMLParser):
    """Each card side's text as the browser showed it, by (GUID, ordinal, side)."""

    def __init__(self) -> None:
        super().__init__()
        self.root: dict[str, str] = {}
        self.sides: dict[tuple[str, int, str], str] = {}
        self._card: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.root = a
        elif tag == "article":
            self._card = (a["data-guid"], int(a["data-ordinal"]))
        elif "data-side" in a and self._card:
            self.sides[(*self._card, a["data-side"])] = a.get("data-shown", "")


def seen(text: str) -> str:
    return " ".join(text.split())


def anki_text(rendered: str) -> str:
    """The text a reader sees of a side Anki rendered."""
    body = re.sub(r"<style>.*?</style>", "", rendered, flags=re.DOTALL)
    body = re.sub(r"<br\s*/?>|</li>|</div>|<hr[^>]*>", "\n", body)
    return seen(html.unescape(re.sub(r"<[^>]*>", "", body)))


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    """The repository's deck, and decks with an image, marks, markup, one card per bullet and
    Markdown."""
    folder = tmp_path / "decks"
    folder.mkdir()
    shutil.copy(SEED, folder / "seed.toml")
    shutil.copy(DATA / "valid" / "marks.toml", folder / "marks.toml")
    (folder / "map.png").write_bytes(PNG)
    images = 'images = ["map.png"]\n'
    (folder / "more.toml").write_text(
        '[deck]\nname = "More"\n[cloze]\ncards = "single"\n[[cards]]\ntitle = "t [sound:a.mp3]"\n'
        + images
        + 'bullets = ["from 1939 to 1945, the treaty of berlin and \\\\(x\\\\) <b>", "b"]\n',
        encoding="utf-8",
    )
    (folder / "weimar.toml").write_text(MARKDOWN, encoding="utf-8")  # formatted
    return folder


def test_the_page_shows_every_card_as_anki_does(
    deck: Path, tmp_path: Path, collection: Any
) -> None:
    page = tmp_path / "preview.html"
    deckforge.preview_page([deck], tmp_path / "dist", to=page)
    dom = browser_dom(page, tmp_path)
    sides = _Sides()
    sides.feed(dom)
    assert sides.root.get("data-loaded") == "yes"  # the page loaded, its script ran
    assert "data-error" not in sides.root
    assert sides.root.get("data-night") == "true"  # the switch turns night mode on
    for result in deckforge.build_all([deck], tmp_path / "dist"):
        import_package(collection, result.package.path)
    by_guid = {
        collection.get_note(n).guid: collection.get_note(n) for n in collection.find_notes("")
    }
    compared = 0
    for (guid, ordinal, side), shown in sides.sides.items():
        (card,) = [c for c in by_guid[guid].cards() if c.ord == ordinal]
        rendered = card.question() if side == "front" else card.answer()
        assert seen(shown) == anki_text(rendered), (guid, ordinal, side)
        compared += 1
    cards = sum(len(note.cards()) for note in by_guid.values())
    assert compared == 2 * cards  # every card, front and back


def test_the_command_writes_the_page_and_never_over_another_file(
    deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(deck)
    runner = CliRunner()
    result = runner.invoke(cli, ["preview", "--html", "seed.toml"])
    assert (result.exit_code, result.stdout) == (0, "wrote preview.html\n")
    assert (deck / "preview.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    again = runner.invoke(cli, ["preview", "--html", "seed.toml"])  # its own page: replaced
    assert again.exit_code == 0
    before = (deck / "seed.toml").read_bytes()
    both = runner.invoke(cli, ["preview", "--html", "--json", "seed.toml"])
    assert (both.exit_code, "not both" in both.stderr) == (2, True)
    alone = runner.invoke(cli, ["preview", "--page", "x.html", "seed.toml"])
    assert (alone.exit_code, "go with --html" in alone.stderr) == (2, True)
    refused = runner.invoke(cli, ["preview", "--html", "--page", "seed.toml", "seed.toml"])
    assert refused.exit_code == 1
    assert refused.stderr == "seed.toml exists and is no page deckforge wrote: not replaced\n"
    assert (deck / "seed.toml").read_bytes() == before
