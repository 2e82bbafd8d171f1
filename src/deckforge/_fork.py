"""Helpers that are copies of this process (fork): when that is safe, and work shared with them."""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import Generic, NoReturn, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def forkable() -> bool:
    """True on Linux, in a process that runs a single thread (a copy of a process that runs
    others inherits the locks they held at that moment, held for ever), where a process can
    hold a copy by a pidfd (Linux 5.4 and later)."""
    if not sys.platform.startswith("linux") or not _pidfds():
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _pidfds() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):  # not this system's, or no descriptor free: no copy now
        return False
    return True


def shared_out(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, the first item done here and each other one at
    the same time by a copy of this process, whose result comes back through a pipe. An item
    whose copy could not start, or failed, is done here; a copy whose parent dies stops when
    its item is done."""
    copies: list[Copy[T, R]] = []
    try:
        copies += (Copy(function, item) for item in items[1:])
        results = [function(items[0])]
        for item, copy in zip(items[1:], copies, strict=True):
            result = copy.result()
            results.append(result[0] if result else function(item))
        return results
    finally:
        for copy in copies:
            copy.stop()


class Copy(Generic[T, R]):
    """A copy of this process doing ``function(item)`` (``pid`` 0: none could start).

    It is held by a pidfd, not by its process id: whoever reaps it (SIGCHLD ignored, or a
    handler of the caller's), ``stop()`` can never signal another process given the same id.
    """

    def __init__(self, function: Callable[[T], R], item: T) -> None:
        self.pid, self.pidfd, self.read = 0, -1, -1
        try:
            self._start(function, item)
        except BaseException as e:
            self.stop()
            if not isinstance(e, OSError):  # out of descriptors or processes: no copy
                raise

    def _start(self, function: Callable[[T], R], item: T) -> None:
        held: list[int] = []  # this process's descriptors to close once the copy has started
        try:
            self.read, write = os.pipe()
            held.append(write)
            held.append(os.dup(write))  # keeps a descriptor free for the pidfd
            # Signals wait while the copy starts: it takes them only inside the try that ends
            # in os._exit (a Ctrl-C caught before that would run the caller's code in the
            # copy, and release the caller's locks from there).
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # as it is, to restore
            try:
                signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
                self.pid = os.fork()
                if self.pid == 0:
                    _run(function, item, write, mask)
                os.close(held.pop())
                with suppress(ProcessLookupError):  # ended, and reaped by someone else already
                    self.pidfd = os.pidfd_open(self.pid)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal meanwhile: raised here
        finally:
            for fd in held:
                os.close(fd)

    def result(self) -> tuple[R] | None:
        """The copy's result (in a tuple), or None if it has none."""
        if not self.pid:
            return None
        with os.fdopen(self.read, "rb") as pipe:
            self.read = -1
            data = pipe.read()
        ended = None  # unknown when someone else reaped it: the result itself tells if whole
        if self.pidfd >= 0:
            with suppress(ChildProcessError):
                ended = os.waitid(os.P_PIDFD, self.pidfd, os.WEXITED)
        self.pid = 0  # ended: nothing left to stop
        self.stop()
        if ended is not None and (ended.si_code, ended.si_status) != (os.CLD_EXITED, 0):
            return None
        try:
            return (pickle.loads(data),)
        except (pickle.UnpicklingError, EOFError):
            return None

    def stop(self) -> None:
        """Stop the copy if it still runs, and let go of it."""
        if self.pid and self.pidfd >= 0:
            with suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            with suppress(ChildProcessError):
                os.waitid(os.P_PIDFD, self.pidfd, os.WEXITED)
        self.pid = 0
        for fd in (self.pidfd, self.read):
            if fd >= 0:
                os.close(fd)
        self.pidfd = self.read = -1


def _run(function: Callable[[T], R], item: T, write: int, mask: Iterable[int]) -> NoReturn:
    """In the copy: do the item, send the result, leave without running any more code."""
    status = 1
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        with os.fdopen(write, "wb") as pipe:
            pickle.dump(function(item), pipe, pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        os._exit(status)
