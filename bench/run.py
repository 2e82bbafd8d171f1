"""Benchmark: deckforge build against a bare genanki script writing the same notes.

Run from the repository root: ``.venv/bin/python bench/run.py [--sizes 1000,10000,100000]
[--repeat 7] [--starts 15]``. For each size it generates a source of that many bullets
(realistic text, a third of them with dates or treaties, tags on every card), then times,
taking turns, in each of ``--repeat`` rounds (times are medians; a ratio is the median of the
rounds' ratios):

- ``deckforge build`` end to end, in a fresh process (clean build: no lock file);
- a bare genanki script writing the notes deckforge produced (same fields, tags, GUIDs and
  note types), also in a fresh process that imports genanki alone: loading its notes from
  JSON, then genanki's ``write_to_file``
  ("(write)" is that call alone, from the moment its notes are in memory);
- ``deckforge build`` again after one edited bullet (the regeneration path, with the lock file);
- and after a word is replaced in every card ("replaced": ``topic``, in every title, becomes
  ``subject``), and after a second one is replaced too ("and more": ``policy``, in about a
  quarter of the bullets, becomes ``strategy``), each from the rebuild's state.

It prints seconds, notes/s and peak RSS of each process, and the ratios. Also times
``deckforge --version`` and ``deckforge check`` on the repository's cards.toml, taking turns with
a process that imports click and Pydantic and validates one small model: ``check`` cannot start
faster than that, and the ratio to it holds still while this machine's speed does not.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import deckforge

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DECKFORGE = [str(BIN / "deckforge")]

# Filler words; dates and treaties come only from DATED, in a third of the bullets.
WORDS = (
    "stalin trotsky comintern policy alliance germany britain france poland japan china "
    "industrialisation collectivisation purges army navy league nations security "
    "economic crisis trade credits expertise foreign ministers diplomats revolution socialism "
    "invasion border conference republic nationalists communists fascism propaganda"
).split()
DATED = [
    "{w} signed in {y}",
    "{w} between {y} and {y2}",
    "the {t} of {y}",
    "invaded on {d} june {y}",
    "{w} from {y} to {y2}",
    "during the {dec}s {w} grew",
    "{w} by sep {y}, then {w}",
    "the {p} pact was agreed, {w}",
    "treaty of {place} ended {w}",
]
PLACES = "berlin rapallo versailles locarno riga moscow london paris rome warsaw".split()


def bullet(rng: random.Random, dated: bool) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
    if not dated:
        return f"{words}, {rng.randint(2, 99)}% of {rng.choice(WORDS)}"
    template = rng.choice(DATED)
    year = rng.randint(1900, 1990)
    return f"{words} " + template.format(
        w=rng.choice(WORDS),
        y=year,
        y2=year + rng.randint(1, 9),
        t=rng.choice(["treaty", "pact"]),
        d=rng.randint(1, 28),
        dec=year // 10 * 10,
        p=rng.choice(["non aggression", "anti comintern", "warsaw"]),
        place=rng.choice(PLACES),
    )


def make_source(path: Path, bullets: int) -> None:
    rng = random.Random(bullets)
    lines = ['[deck]\nname = "Benchmark"\ntags = ["bench"]\n']
    written = 0
    card = 0
    while written < bullets:
        count = min(rng.randint(3, 5), bullets - written)
        items = [bullet(rng, rng.random() < 1 / 3) for _ in range(count)]
        lines.append(f'[[cards]]\ntitle = "topic {card} {rng.choice(WORDS)}"\n')
        lines.append(f'tags = ["unit{card % 20}"]\nbullets = [\n')
        lines += [f'    "{item}",\n' for item in items]
        lines.append("]\n\n")
        written += count
        card += 1
    path.write_text("".join(lines), encoding="utf-8")


HERE = Path(__file__).resolve().parent


def measure(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB (the child's own, from wait4) and stdout of a process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = status  # reaped by wait4: keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        if status:
            raise SystemExit(f"{' '.join(args)} failed:\n{err.read().decode()}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def bench_size(bullets: int, work: Path, repeat: int) -> dict[str, Any]:
    """*repeat* rounds of the three processes, taking turns. Times are medians; ratios are the
    median of each round's ratio, so that both sides of one always ran in the same minute of
    this shared machine. RSS is the largest seen."""
    folder = work / f"n{bullets}"
    folder.mkdir()
    source, lock = folder / "cards.toml", folder / "cards.lock"
    package = folder / "dist" / "benchmark.apkg"
    make_source(source, bullets)
    text = source.read_text(encoding="utf-8")

    # the notes deckforge makes, for genanki to write again
    dump = folder / "notes.json"
    subprocess.run([sys.executable, HERE / "dump_notes.py", source, dump], check=True)
    notes = len(json.loads(dump.read_text(encoding="utf-8"))["notes"])

    build = [*DECKFORGE, "build", "cards.toml", "--quiet"]
    genanki = [sys.executable, str(HERE / "genanki_build.py"), str(dump), str(folder / "g.apkg")]
    rounds = []
    for i in range(repeat):
        source.write_text(text, encoding="utf-8")
        lock.unlink(missing_ok=True)
        shutil.rmtree(folder / "dist", ignore_errors=True)  # clean: nothing built before
        if i % 2:  # each side goes first in every other round
            theirs = measure(genanki, folder)
            ours = measure(build, folder)  # clean: no lock file yet
        else:
            ours = measure(build, folder)
            theirs = measure(genanki, folder)
        edited = text.replace("%", "% (edited)", 1)
        source.write_text(edited, encoding="utf-8")
        rebuild = measure(build, folder)  # one bullet edited, with the lock file
        # the rebuild's state, kept on disk (not in this process: its children would start
        # with its memory, and their peak RSS would be this process's)
        kept = [(path, path.with_name(f"{path.name}.kept")) for path in (lock, package)]
        for path, copy in kept:
            shutil.copyfile(path, copy)
        source.write_text(edited.replace("topic", "subject"), encoding="utf-8")
        replaced = measure(build, folder)  # one word replaced in every card
        for path, copy in kept:  # back to the rebuild's state
            shutil.copyfile(copy, path)
        more = edited.replace("topic", "subject").replace("policy", "strategy")
        source.write_text(more, encoding="utf-8")
        replaced_more = measure(build, folder)
        rounds.append((ours, theirs, rebuild, replaced, replaced_more))
    return {
        "bullets": bullets,
        "notes": notes,
        "deckforge_s": statistics.median(r[0][0] for r in rounds),
        "deckforge_mb": max(r[0][1] for r in rounds),
        "genanki_s": statistics.median(r[1][0] for r in rounds),
        "genanki_write_s": statistics.median(float(r[1][2]) for r in rounds),
        "genanki_mb": max(r[1][1] for r in rounds),
        "rebuild_s": statistics.median(r[2][0] for r in rounds),
        "ratio": statistics.median(r[0][0] / r[1][0] for r in rounds),
        "write_ratio": statistics.median(r[0][0] / float(r[1][2]) for r in rounds),
        "rebuild_ratio": statistics.median(r[2][0] / r[0][0] for r in rounds),
        "replaced_s": statistics.median(r[3][0] for r in rounds),
        "replaced_ratio": statistics.median(r[3][0] / r[0][0] for r in rounds),
        "more_s": statistics.median(r[4][0] for r in rounds),
        "more_ratio": statistics.median(r[4][0] / r[0][0] for r in rounds),
        "rounds": ["/".join(f"{m[0]:.2f}" for m in r) for r in rounds],
    }


def startup(commands: list[list[str]], runs: int) -> list[list[float]]:
    """Seconds of each of *commands*, taking turns, *runs* times over."""
    return [[measure(command, ROOT)[0] for command in commands] for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=7, help="rounds of each size")
    parser.add_argument("--starts", type=int, default=15, help="runs of --version and check")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    # deckforge's bytecode compiled once, as pip does when it installs a package (an editable
    # install, under PYTHONDONTWRITEBYTECODE, would compile it again in every process timed)
    compileall.compile_dir(Path(deckforge.__file__).parent, quiet=1)
    work = Path(tempfile.mkdtemp(prefix="deckforge-bench-"))
    try:
        rows = [bench_size(n, work, args.repeat) for n in sizes]
    finally:
        shutil.rmtree(work)
    print(
        f"{'bullets':>8} {'notes':>7} | {'deckforge s':>11} {'notes/s':>8} {'MiB':>5} | "
        f"{'genanki s':>9} {'(write)':>7} {'MiB':>5} | {'time x':>6} {'(write)':>7} "
        f"{'RSS x':>5} | {'rebuild s':>9} {'x clean':>7} | {'replaced s':>10} {'x clean':>7} | "
        f"{'and more s':>10} {'x clean':>7}"
    )
    for r in rows:
        ours, theirs, write = r["deckforge_s"], r["genanki_s"], r["genanki_write_s"]
        rss = r["deckforge_mb"] / r["genanki_mb"]
        print(
            f"{r['bullets']:8} {r['notes']:7} | {ours:11.2f} {r['notes'] / ours:8.0f} "
            f"{r['deckforge_mb']:5.0f} | {theirs:9.2f} {write:7.2f} {r['genanki_mb']:5.0f} | "
            f"{r['ratio']:6.2f} {r['write_ratio']:7.2f} {rss:5.2f} | "
            f"{r['rebuild_s']:9.2f} {r['rebuild_ratio']:7.2f} | "
            f"{r['replaced_s']:10.2f} {r['replaced_ratio']:7.2f} | "
            f"{r['more_s']:10.2f} {r['more_ratio']:7.2f}"
        )
    for r in rows:
        rounds = " ".join(r["rounds"])
        print(
            f"{r['bullets']} bullets, deckforge/genanki/rebuild/replaced/and more s by round: "
            f"{rounds}"
        )
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        scaling = (b["notes"] / b["deckforge_s"]) / (a["notes"] / a["deckforge_s"])
        print(f"notes/s at {b['bullets']} bullets is {scaling:.0%} of notes/s at {a['bullets']}")
    floor = [sys.executable, str(HERE / "floor.py")]
    runs = startup(
        [[*DECKFORGE, "--version"], [*DECKFORGE, "check", "cards.toml"], floor], args.starts
    )
    version, check, least = (statistics.median(run[i] for run in runs) for i in range(3))
    ratio = statistics.median(run[1] / run[2] for run in runs)
    print(
        f"deckforge --version: {version:.3f} s; deckforge check cards.toml: {check:.3f} s, "
        f"{ratio:.2f}x the {least:.3f} s of importing click and pydantic and validating one "
        f"model (medians of {args.starts})"
    )


if __name__ == "__main__":
    main()
