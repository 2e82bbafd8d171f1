"""For tests of the copies of a process: running out of file descriptors, and what is left."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def only_free(count: int) -> Iterator[None]:
    """Every file descriptor this process may open in use but *count* of them, for the block."""
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, limits[1]))  # few, to fill quickly
    held: list[int] = []
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    for fd in held[:count]:
        os.close(fd)
    try:
        yield
    finally:
        for fd in held[count:]:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def left_over() -> tuple[list[str], bool]:
    """This process's open file descriptors, and whether it has a child (running, or ended
    and not yet waited for)."""
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return sorted(os.listdir("/proc/self/fd")), False
    return sorted(os.listdir("/proc/self/fd")), True
