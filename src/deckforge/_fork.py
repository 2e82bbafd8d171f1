"""Helpers that are copies of this process (fork): when that is safe, and work shared with them."""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def forkable() -> bool:
    """True on Linux, in a process that runs a single thread: a copy of a process that runs
    others inherits the locks they held at that moment, held for ever."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def shared_out(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, the first item done here and each other one at
    the same time by a copy of this process, whose result comes back through a pipe. An item
    whose copy could not start, or failed, is done here; a copy whose parent dies stops when
    its item is done."""
    copies = [Copy(function, item) for item in items[1:]]
    try:
        results = [function(items[0])]
        for item, copy in zip(items[1:], copies, strict=True):
            result = copy.result()
            results.append(result[0] if result else function(item))
        return results
    finally:
        for copy in copies:
            copy.stop()


class Copy(Generic[T, R]):
    """A copy of this process doing ``function(item)`` (``pid`` 0: none could start)."""

    def __init__(self, function: Callable[[T], R], item: T) -> None:
        self.pid, self.read = 0, -1
        read, write = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if self.pid == 0:  # the copy: do the item, send the result, leave without running more
            status = 1
            try:
                os.close(read)
                with os.fdopen(write, "wb") as pipe:
                    pickle.dump(function(item), pipe, pickle.HIGHEST_PROTOCOL)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self.read = read

    def result(self) -> tuple[R] | None:
        """The copy's result (in a tuple), or None if it has none."""
        if not self.pid:
            return None
        with os.fdopen(self.read, "rb") as pipe:
            self.read = -1
            data = pipe.read()
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:  # SIGCHLD ignored: the result itself tells if it is whole
            status = 0
        self.pid = 0
        if status:
            return None
        try:
            return (pickle.loads(data),)
        except (pickle.UnpicklingError, EOFError):
            return None

    def stop(self) -> None:
        if self.pid:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0
        if self.read >= 0:
            os.close(self.read)
            self.read = -1
