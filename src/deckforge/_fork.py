"""Whether this process may start helpers as copies of itself (fork), safely."""

from __future__ import annotations

import os
import sys


def forkable() -> bool:
    """True on Linux, in a process that runs a single thread: a copy of a process that runs
    others inherits the locks they held at that moment, held for ever."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False
