"""Nothing is ever lost: killed builds, concurrent builds, temporary files, hostile names."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import deckforge
from deckforge import Card, Deck, Source
from deckforge.identity import read_lock

from .conftest import dump_source

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import run as bench  # the benchmark's generator of realistic decks

BULLETS = 20_000


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(
    folder: Path, env: dict[str, str] | None = None, out: str = "dist"
) -> subprocess.Popen[bytes]:
    """``deckforge build`` in *folder*, as a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "deckforge", "build", "--quiet", "--out-dir", out],
        cwd=folder,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1800000000", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def running_in(folder: Path) -> list[str]:
    """The command lines of the processes whose working folder is *folder*."""
    found = []
    for process in Path("/proc").iterdir():
        try:
            if process.name.isdigit() and Path(os.readlink(process / "cwd")) == folder:
                found.append((process / "cmdline").read_text().replace("\0", " "))
        except OSError:  # ended meanwhile, or not ours to see
            continue
    return found


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
    locked = read_lock(lock)
    assert locked is not None
    assert locked.notes


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
        assert running_in(big) == []  # nothing of the build lives on
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
    assert not list(big.glob("*deckforge-tmp"))


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


def copy_of(big: Path, folder: Path) -> Path:
    """A copy of the large deck and its lock file in *folder*."""
    folder.mkdir(exist_ok=True)
    for name in ("cards.toml", "cards.lock"):
        (folder / name).write_bytes((big / name).read_bytes())
    return folder


def test_a_build_removes_only_its_own_files(big: Path, tmp_path: Path) -> None:
    folder = copy_of(big, tmp_path / "deck")
    outside = tmp_path / "outside.txt"
    outside.write_text("not deckforge's")
    mine = {
        ".cards.lock.swp": "an editor's swap file",
        ".cards.lock.backup/notes.txt": "a backup of mine",
        "dist/.benchmark.apkg.keep": "kept",
        ".cards.lock.1a2b3c4d.tmp": "another program's temporary file",
    }
    for name, text in mine.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text)
    (folder / ".cards.lock.link").symlink_to(outside)
    (folder / "dist" / ".benchmark.apkg.0badf00d.deckforge-tmp").symlink_to(outside)

    assert build(folder).wait() == 0
    text = (folder / "cards.toml").read_text(encoding="utf-8")
    (folder / "cards.toml").write_text(text.replace("%", "% (again)", 9), encoding="utf-8")
    killed = build(folder)  # killed once it has started to write its temporary files
    while killed.poll() is None and not list(folder.glob("**/*.deckforge-tmp")):
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL  # killed in the middle, not finished
    assert list(folder.glob("dist/.benchmark.apkg.*.deckforge-tmp")) != []
    assert build(folder).wait() == 0  # the next build clears what the killed one left

    for name, text in mine.items():
        assert (folder / name).read_text() == text
    assert (folder / ".cards.lock.link").read_text() == outside.read_text() == "not deckforge's"
    left = sorted(p.name for p in folder.glob("**/*.deckforge-tmp"))
    assert left == [".benchmark.apkg.0badf00d.deckforge-tmp"]  # a symbolic link: not ours


def test_two_builds_of_one_source_into_two_folders_take_turns(big: Path, tmp_path: Path) -> None:
    folder = copy_of(big, tmp_path / "deck")
    text = (folder / "cards.toml").read_text(encoding="utf-8")
    for round_ in range(4):
        # an edit, then two builds that stamp it with different times: had they not waited
        # for each other, both would start from the same lock and one package would disagree
        # with the lock file the other wrote
        edited = text.replace("%", f"% (round {round_})", 20)
        (folder / "cards.toml").write_text(edited, encoding="utf-8")
        one = build(folder, {"SOURCE_DATE_EPOCH": str(1_900_000_000 + round_)}, "one")
        two = build(folder, {"SOURCE_DATE_EPOCH": str(1_950_000_000 + round_)}, "two")
        assert (one.wait(), two.wait()) == (0, 0)
        locked = read_lock(folder / "cards.lock")
        assert locked is not None
        lock = {(n.guid, n.mod) for n in locked.notes}
        for out in ("one", "two"):
            assert package_notes(folder / out / "benchmark.apkg") == lock


def package_notes(package: Path) -> set[tuple[str, int]]:
    """The (GUID, mod) of every note in *package*."""
    with zipfile.ZipFile(package) as zf:
        data = zf.read("collection.anki2")
    db = package.with_suffix(".check")
    db.write_bytes(data)
    try:
        with sqlite3.connect(db) as conn:
            return set(conn.execute("SELECT guid, mod FROM notes"))
    finally:
        db.unlink()


def test_a_build_of_many_sources_with_one_damaged_lock_writes_nothing(tmp_path: Path) -> None:
    decks = tmp_path / "decks"
    decks.mkdir()
    for name in ("a", "b"):
        cards = [Card(title=f"{name} {i}", bullets=[f"signed in 19{i:02}"]) for i in range(3)]
        source = Source(deck=Deck(name=name), cards=cards)
        (decks / f"{name}.toml").write_text(dump_source(source), encoding="utf-8")
    out = tmp_path / "dist"
    assert len(deckforge.build_all([decks], out)) == 2
    a = (decks / "a.toml").read_text(encoding="utf-8")
    (decks / "a.toml").write_text(a[: a.rindex("[[cards]]")], encoding="utf-8")  # a card less
    lock = (decks / "b.lock").read_text(encoding="utf-8")
    (decks / "b.lock").write_text(lock[: lock.index("\n") + 40], encoding="utf-8")  # cut short
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    with pytest.raises(deckforge.SourceError, match=r"b\.lock:2:\d+: not a deckforge lock file"):
        deckforge.build_all([decks], out)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_build_that_cannot_write_its_lock_file_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "cards.toml"
    first = Source(deck=Deck(name="D"), cards=[Card(title="t", bullets=["signed in 1926"])])
    source.write_text(dump_source(first), encoding="utf-8")
    package = deckforge.build(source, tmp_path / "dist").package.path
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    second = Source(deck=Deck(name="D"), cards=[*first.cards, Card(title="u", bullets=["1927"])])
    source.write_text(dump_source(second), encoding="utf-8")
    before[source] = source.read_bytes()

    def full(lock: object) -> Iterator[str]:  # the disk fills up while the lock is written
        yield '{"version": 1, '
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deckforge.pipeline, "dump_lock", full)
    with pytest.raises(deckforge.PackageError, match=r"cards\.lock: No space left on device"):
        deckforge.build(source, tmp_path / "dist")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert package.exists()


def limit_file_size() -> None:
    """In the child: files of at most 64 KiB, as on a disk that fills up (Python ignores
    SIGXFSZ, so a write beyond fails with EFBIG)."""
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_is_an_error_and_loses_nothing(seed_copy: Path) -> None:
    folder = seed_copy.parent
    first = subprocess.run(
        [sys.executable, "-m", "deckforge", "build"], cwd=folder, capture_output=True, check=False
    )
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    seed_copy.write_text(seed_copy.read_text("utf-8").replace("1926", "1927"), "utf-8")
    before[seed_copy] = seed_copy.read_bytes()
    full = subprocess.run(
        [sys.executable, "-m", "deckforge", "build"],
        cwd=folder,
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        check=False,
    )
    assert full.returncode == 1
    assert full.stderr.startswith("cannot write dist/stalin-foreign-policy.apkg: ")
    assert "Traceback" not in full.stderr
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
