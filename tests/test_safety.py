"""Nothing is ever lost: killed builds, concurrent builds, temporary files, hostile names."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import deckforge
from deckforge import Card, Deck, Source

from .conftest import dump_source

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import run as bench  # the benchmark's generator of realistic decks

BULLETS = 20_000


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(folder: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``deckforge build`` in *folder*, as a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "deckforge", "build", "--quiet"],
        cwd=folder,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1800000000", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def readable(package: Path, lock: Path) -> None:
    with zipfile.ZipFile(package) as zf:
        assert zf.testzip() is None
        data = zf.read("collection.anki2")
    db = package.with_suffix(".check")
    db.write_bytes(data)
    with sqlite3.connect(db) as conn:
        (notes,) = conn.execute("SELECT count(*) FROM notes").fetchone()
    db.unlink()
    assert notes > 0
    assert json.loads(lock.read_text(encoding="utf-8"))["notes"]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deck large enough that a build takes a while, built once."""
    folder = tmp_path_factory.mktemp("big")
    bench.make_source(folder / "cards.toml", BULLETS)
    assert build(folder).wait() == 0
    return folder


def test_a_build_killed_at_any_moment_loses_nothing(big: Path, tmp_path: Path) -> None:
    package, lock = big / "dist" / "benchmark.apkg", big / "cards.lock"
    before = (sha(package), sha(lock))
    saved = (package.read_bytes(), lock.read_bytes())
    text = (big / "cards.toml").read_text(encoding="utf-8")
    (big / "cards.toml").write_text(text.replace("%", "% (edited)", 50), encoding="utf-8")
    # what an uninterrupted build of the edited source writes (builds are reproducible)
    other = tmp_path / "other"
    other.mkdir()
    (other / "cards.toml").write_text((big / "cards.toml").read_text("utf-8"), "utf-8")
    (other / "cards.lock").write_bytes(lock.read_bytes())
    start = time.monotonic()
    assert build(other).wait() == 0
    duration = time.monotonic() - start
    after = (sha(other / "dist" / "benchmark.apkg"), sha(other / "cards.lock"))
    assert after != before

    rng = random.Random(20)
    interrupted = 0
    for _ in range(20):
        proc = build(big)
        time.sleep(rng.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        readable(package, lock)
        assert sha(package) in (before[0], after[0])
        assert sha(lock) in (before[1], after[1])
        if (sha(package), sha(lock)) == before:
            interrupted += 1
        else:  # the build got as far as writing: start again from the previous build
            package.write_bytes(saved[0])
            lock.write_bytes(saved[1])
    assert interrupted >= 5  # the kills did land in the middle of builds
    # the next build clears what the killed ones left behind, and finishes
    assert build(big).wait() == 0
    assert sorted(p.name for p in (big / "dist").iterdir()) == [".deckforge.lock", package.name]
    assert not list(big.glob(".cards.lock.*"))


def test_a_build_leaves_nothing_in_the_temporary_folder(big: Path, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    assert build(big, {"TMPDIR": str(temp)}).wait() == 0
    assert list(temp.iterdir()) == []


def test_two_builds_at_once_do_not_corrupt_each_other(big: Path) -> None:
    first, second = build(big), build(big)
    assert (first.wait(), second.wait()) == (0, 0)
    readable(big / "dist" / "benchmark.apkg", big / "cards.lock")
    assert deckforge.diff(big / "cards.toml").summary().startswith("0 added, 0 updated")


@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("../../escape", "escape.apkg"),
        ("/etc/passwd", "etc-passwd.apkg"),
        ("CON", "deck-con.apkg"),
        ("nul.txt", "deck-nul-txt.apkg"),
        ("...", "deck.apkg"),
        ("Ελληνικά::Ιστορία", "ελληνικά-ιστορία.apkg"),
        ("x" * 300, "x" * 120 + ".apkg"),  # file names are limited in bytes
        ("中" * 100, "中" * 40 + ".apkg"),
    ],
)
def test_the_package_stays_in_the_output_folder(tmp_path: Path, name: str, file: str) -> None:
    source = Source(deck=Deck(name=name), cards=[Card(title="t", bullets=["b"])])
    (tmp_path / "cards.toml").write_text(dump_source(source), encoding="utf-8")
    result = deckforge.build(tmp_path / "cards.toml", tmp_path / "out")
    assert result.package.path == tmp_path / "out" / file
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".deckforge.lock", file]


FILES_ASIDE = """
import os, sys
from pathlib import Path
from deckforge._fork import forkable
from deckforge.package import FilesAside

assert forkable()  # a process of its own, with one thread: the files are written by a copy
folder = Path(sys.argv[1])
pieces = ["caf\\u00e9 ", b"\\x00bytes\\n"] * 1000
with FilesAside([(folder / "a.lock", iter(pieces)), (folder / "b.lock", iter(pieces))]) as aside:
    assert aside.copy is not None and aside.copy.pid > 0
    aside.commit()
expected = "".join(p if isinstance(p, str) else p.decode() for p in pieces).encode()
assert (folder / "a.lock").read_bytes() == (folder / "b.lock").read_bytes() == expected
assert oct((folder / "a.lock").stat().st_mode)[-3:] == "644"

(folder / "c.lock").write_text("before")
with FilesAside([(folder / "c.lock", iter(["after"]))]):
    pass  # left without a commit: thrown away
assert (folder / "c.lock").read_text() == "before"

def failing():
    yield "half"
    raise ValueError("no more")
try:
    with FilesAside([(folder / "c.lock", failing())]) as aside:
        aside.commit()  # the copy failed: written here, and the error raised here
except ValueError as e:
    assert str(e) == "no more"
else:
    raise AssertionError("the failure was lost")
assert (folder / "c.lock").read_text() == "before"

import signal
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # no exit status to read: the copy's result tells
with FilesAside([(folder / "c.lock", iter(["after"]))]) as aside:
    aside.commit()
assert (folder / "c.lock").read_text() == "after"
assert sorted(p.name for p in folder.iterdir()) == ["a.lock", "b.lock", "c.lock"]
signal.signal(signal.SIGCHLD, signal.SIG_DFL)

# a lock that cannot be written: the package it goes with does not replace the old one
import deckforge
old = deckforge.loads('[deck]\\nname = "D"\\n[[cards]]\\ntitle = "t"\\nbullets = ["in 1926"]\\n')
new = deckforge.loads('[deck]\\nname = "D"\\n[[cards]]\\ntitle = "u"\\nbullets = ["in 1927"]\\n')
package = folder / "d.apkg"
deckforge.export(old.deck, deckforge.transform(old), package)
before = package.read_bytes()
try:
    with FilesAside([(folder / "c.lock", failing())]) as aside:
        deckforge.export_bundle(
            [(new.deck, deckforge.transform(new))], package, before_replace=aside.ready
        )
except ValueError:
    pass
else:
    raise AssertionError("the failure was lost")
assert package.read_bytes() == before
assert sorted(p.name for p in folder.iterdir()) == ["a.lock", "b.lock", "c.lock", "d.apkg"]

# out of file descriptors at any step: written, or an error to report, and nothing left behind
from deckforge.errors import PackageError
from tests.processes import left_over, only_free
outcomes = set()
before = left_over()
for free in range(8):
    try:
        with only_free(free), FilesAside([(folder / "e.lock", iter([str(free)]))]) as aside:
            aside.commit()
        outcomes.add("written")
        assert (folder / "e.lock").read_text() == str(free)
    except PackageError as e:
        outcomes.add("refused")
        assert "Too many open files" in str(e), e
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert left_over() == before
assert outcomes == {"written", "refused"}, outcomes
with FilesAside([(folder / "e.lock", iter(["twice"]))]) as aside:
    aside.commit()
    aside.commit()  # nothing more to do
assert (folder / "e.lock").read_text() == "twice"
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="copies of a process: Linux")
def test_lock_files_written_aside_are_put_in_place_only_on_commit(tmp_path: Path) -> None:
    # in a process of its own: this one may run threads (Anki's), and then nothing is forked
    root = Path(__file__).parent.parent
    subprocess.run([sys.executable, "-c", FILES_ASIDE, str(tmp_path)], cwd=root, check=True)


def test_a_build_that_cannot_write_its_lock_file_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "cards.toml"
    first = Source(deck=Deck(name="D"), cards=[Card(title="t", bullets=["signed in 1926"])])
    source.write_text(dump_source(first), encoding="utf-8")
    package = deckforge.build(source, tmp_path / "dist").package.path
    before = {path: path.read_bytes() for path in (package, tmp_path / "cards.lock")}
    second = Source(deck=Deck(name="D"), cards=[*first.cards, Card(title="u", bullets=["1927"])])
    source.write_text(dump_source(second), encoding="utf-8")

    def full(f: object, pieces: object) -> None:  # the lock file only: the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deckforge.package, "_write_all", full)
    with pytest.raises(deckforge.PackageError, match=r"cards\.lock: No space left on device"):
        deckforge.build(source, tmp_path / "dist")
    assert {path: path.read_bytes() for path in before} == before
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "cards.lock",
        "cards.toml",
        "dist",
        "dist/.deckforge.lock",
        "dist/d.apkg",
    ]
