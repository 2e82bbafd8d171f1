"""Benchmark of ``deckforge sync``: a deck of about 10,000 notes sent into a real collection,
directly (the collection file) and through AnkiConnect (the test server of
``tests/ankiconnect.py``, in a process of its own, on the same collection file).

Run from the repository root::

    .venv/bin/python bench/sync.py [--bullets 17150] [--repeat 5]

For each backend, in each round, taking turns, it times a ``deckforge sync`` process (backups
off: the work of the sync alone) in four cases:

- "first": the whole deck into an empty collection, with no lock file;
- "all edited": from the state the first sync left, with a word replaced in every card title
  (every note changes: each shows its card's title);
- "1% edited": from that state, with one bullet in every hundredth card edited;
- "unchanged": the same source again.

It prints the median seconds, the median of the rounds' ratios of each case to "all edited",
and what 1% of changes costs above an unchanged sync (which reads the source and Anki's notes,
as any sync must), as a share of what all of them cost above it. Also, as a yardstick,
``deckforge build`` of the same source (clean).

``bench/sync.py prepare DIR`` leaves that state in DIR, and ``bench/sync.py run DIR CASE
BACKEND`` restores it and runs one sync, for ``farm-bench --vs``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from run import DECKFORGE, make_source, measure

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "ankiconnect.py"
CASES = ("first", "all edited", "1% edited", "unchanged")
BACKENDS = ("direct", "ankiconnect")
STATE = ("collection.anki2", "cards.lock", "dist")  # what a first sync leaves


def prepare(folder: Path, bullets: int) -> int:
    """Write the source, sync it into a new collection, keep that state aside; the number of
    notes."""
    from anki.collection import Collection

    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "cards.toml"
    make_source(source, bullets)
    text = source.read_text(encoding="utf-8")
    cards = text.split("[[cards]]")  # every hundredth card's first bullet edited
    edited = [c.replace('",', ' (edited)",', 1) if i % 100 == 1 else c for i, c in enumerate(cards)]
    (folder / "1% edited.toml").write_text("[[cards]]".join(edited), encoding="utf-8")
    (folder / "all edited.toml").write_text(text.replace('"topic ', '"subject '), encoding="utf-8")
    (folder / "unchanged.toml").write_text(text, encoding="utf-8")
    Collection(str(folder / "empty.anki2")).close()
    restore(folder, "first")
    run(folder, "first", "direct")
    kept = folder / "kept"
    kept.mkdir(exist_ok=True)
    for name in STATE:
        copy(folder / name, kept / name)
    return sum(1 for line in (folder / "cards.lock").open(encoding="utf-8")) - 1


def copy(source: Path, target: Path) -> None:
    if target.is_dir():
        shutil.rmtree(target)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


def restore(folder: Path, case: str) -> None:
    """The state a sync of *case* starts from."""
    for path in (folder / "collection.anki2-wal", folder / "collection.anki2-shm"):
        path.unlink(missing_ok=True)
    if case == "first":
        copy(folder / "empty.anki2", folder / "collection.anki2")
        (folder / "cards.lock").unlink(missing_ok=True)
        shutil.rmtree(folder / "dist", ignore_errors=True)
        shutil.copyfile(folder / "unchanged.toml", folder / "cards.toml")
        return
    for name in STATE:
        copy(folder / "kept" / name, folder / name)
    shutil.copyfile(folder / f"{case}.toml", folder / "cards.toml")


def command(backend: str, url: str = "") -> list[str]:
    where = ["--ankiconnect", url] if backend == "ankiconnect" else ["--collection"]
    where += [] if backend == "ankiconnect" else ["collection.anki2"]
    return [*DECKFORGE, "sync", "cards.toml", *where, "--no-backup"]


def run(folder: Path, case: str, backend: str) -> float:
    """Restore the state of *case*, then time one sync through *backend*; seconds."""
    restore(folder, case)
    if backend == "direct":
        return measure(command(backend), folder)[0]
    server = subprocess.Popen(
        [sys.executable, str(SERVER), str(folder / "collection.anki2")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        url = server.stdout.readline().strip()
        return measure(command(backend, url), folder)[0]
    finally:
        server.stdin.close()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bullets", type=int, default=17150)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("what", nargs="*", help="prepare DIR, or run DIR CASE BACKEND")
    args = parser.parse_args()
    if args.what[:1] == ["prepare"]:
        print(f"{prepare(Path(args.what[1]), args.bullets)} notes")
        return
    if args.what[:1] == ["run"]:
        run(Path(args.what[1]), args.what[2], args.what[3])
        return
    folder = Path(tempfile.mkdtemp(prefix="deckforge-bench-sync-"))
    try:
        notes = prepare(folder, args.bullets)
        times: dict[tuple[str, str], list[float]] = {}
        builds = []
        for _ in range(args.repeat):
            for backend in BACKENDS:
                for case in CASES:
                    times.setdefault((backend, case), []).append(run(folder, case, backend))
            restore(folder, "first")
            builds.append(measure([*DECKFORGE, "build", "cards.toml", "--quiet"], folder)[0])
    finally:
        shutil.rmtree(folder)
    print(f"{notes} notes; deckforge build (clean): {statistics.median(builds):.2f} s")
    print(f"{'backend':<12} {'case':<10} {'seconds':>8} {'x all edited':>12}")
    for backend in BACKENDS:
        every = times[(backend, "all edited")]
        for case in CASES:
            these = times[(backend, case)]
            ratio = statistics.median(t / a for t, a in zip(these, every, strict=True))
            print(f"{backend:<12} {case:<10} {statistics.median(these):8.2f} {ratio:12.2f}")
        floor = times[(backend, "unchanged")]
        share = statistics.median(
            (one - none) / (every_one - none)
            for one, none, every_one in zip(
                times[(backend, "1% edited")], floor, every, strict=True
            )
        )
        print(f"{backend}: above an unchanged sync, 1% edited costs {share:.0%} of all edited")


if __name__ == "__main__":
    main()
