"""The files deckforge writes: each whole or not at all, and only its own ever removed.

A file is written into a temporary file beside it, named ``.<name>.<8 hex digits>.deckforge-tmp``
(a name no editor or person gives a file), synced to disk and renamed over its target: a reader,
or a crash, sees the old file or the new one, never half of one. New files get the permissions
the umask allows, as any program's do. What a killed build left behind is removed by the next
build of the same files: regular files of exactly that name, never a directory, never through
a symbolic link. Builds that write into one folder take turns (its ``.deckforge.lock``).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from .errors import PackageError

TEMPORARY = ".deckforge-tmp"
BUILD_LOCK = ".deckforge.lock"
WAIT_FOR_BUILD = 600  # seconds to wait for another build writing into the same folder

Writer = Callable[[BinaryIO], object]


def _temporary(target: Path) -> tuple[int, Path]:
    """A new, empty temporary file beside *target* (a rename to *target* is then atomic)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = target.parent / f".{target.name}.{secrets.token_hex(4)}{TEMPORARY}"
        try:
            return os.open(path, flags, 0o666), path  # the umask applies
        except FileExistsError:
            continue  # one chance in four billion


def _is_temporary(path: Path, target: Path) -> bool:
    pattern = rf"\.{re.escape(target.name)}\.[0-9a-f]{{8}}{re.escape(TEMPORARY)}"
    return re.fullmatch(pattern, path.name) is not None


def write_all(writers: Sequence[tuple[Path, Writer]]) -> None:
    """Write each target through its writer (given the open file), then put them all in place,
    in order, once every one is written and on disk. If one cannot be written, none is replaced
    and no temporary file is left."""
    temporaries: list[Path] = []
    try:
        for target, write in writers:
            try:
                fd, temporary = _temporary(target)
                temporaries.append(temporary)
                with open(fd, "wb") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise PackageError(f"cannot write {target}: {e.strerror or e}") from None
            except UnicodeEncodeError:
                raise PackageError(_unnamable(target)) from None
        for temporary, (target, _) in zip(temporaries, writers, strict=True):
            try:
                os.replace(temporary, target)
            except OSError as e:
                raise PackageError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        for temporary in temporaries:
            with suppress(FileNotFoundError):
                temporary.unlink()  # replaced: no longer there


def _unnamable(path: Path) -> str:
    encoding = sys.getfilesystemencoding()
    return (
        f"cannot name the file {str(path)!r} in this system's encoding of file names ({encoding}):"
        " use a UTF-8 locale (LC_ALL=C.UTF-8), or a name in that encoding"
    )


def write_bytes(target: Path, data: bytes) -> None:
    """Replace *target* with *data*, all at once (see :func:`write_all`)."""
    write_all([(target, lambda f: f.write(data))])


@contextmanager
def scratch(beside: Path) -> Iterator[Path]:
    """An empty temporary file beside *beside* for the block's work, removed afterwards."""
    fd, path = _temporary(beside)
    os.close(fd)
    try:
        yield path
    finally:
        with suppress(FileNotFoundError):
            path.unlink()


def remove_leftovers(targets: Iterable[Path]) -> None:
    """Remove the temporary files that a killed build left beside *targets*."""
    for target in targets:
        for path in target.parent.glob(f".*{TEMPORARY}"):
            with suppress(FileNotFoundError):
                if _is_temporary(path, target) and stat.S_ISREG(path.lstat().st_mode):
                    path.unlink()


@contextmanager
def building(folders: Iterable[Path]) -> Iterator[None]:
    """Hold the build lock of each of *folders*, creating them if need be: two builds that
    write into one folder take turns. The locks are taken in one order, so that two builds
    can never each hold a lock the other waits for."""
    from filelock import FileLock, Timeout

    by_real: dict[Path, Path] = {}  # each folder once, however it is named
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            by_real.setdefault(folder.resolve(), folder)
        except OSError as e:
            raise PackageError(f"cannot write to {folder}: {e.strerror or e}") from None
        except UnicodeEncodeError:
            raise PackageError(_unnamable(folder)) from None
    with ExitStack() as stack:
        for real in sorted(by_real):
            lock, folder = real / BUILD_LOCK, by_real[real]
            if lock.is_symlink():  # never followed: it could point anywhere
                raise PackageError(
                    f"{folder / BUILD_LOCK} is a symbolic link; deckforge writes its build lock"
                    " only as a file of its own: remove the link"
                )
            try:
                # fails at once where FileLock would wait for the whole timeout
                flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                os.close(os.open(lock, flags, 0o666))
                stack.enter_context(FileLock(lock, timeout=WAIT_FOR_BUILD))
            except Timeout:  # before OSError: it is one
                raise PackageError(
                    f"another build has been writing to {folder} for {WAIT_FOR_BUILD} s"
                ) from None
            except OSError as e:
                raise PackageError(f"cannot write to {folder}: {e.strerror or e}") from None
        yield
