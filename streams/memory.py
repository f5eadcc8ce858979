"""Giving freed heap back to the operating system (glibc's ``malloc_trim``).

Each window close turns every series' stored state into detector objects and back,
a burst of short-lived allocations. glibc keeps the memory they freed inside the
process, so the resident size grows far past what is in use (measured by
``benchmarks/throughput.py``'s memory test). Trimming after closes, at most once per
``interval_seconds``, returns it; on a C library without ``malloc_trim`` it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from collections.abc import Callable


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


class HeapTrimmer:
    """Calls ``malloc_trim(0)`` when asked, unless it did less than ``interval_seconds`` ago.

    >>> trimmer = HeapTrimmer(interval_seconds=60.0, clock=iter([0.0, 10.0, 61.0]).__next__)
    >>> [trimmer.maybe_trim() for _ in range(3)] == [trimmer.available, False, trimmer.available]
    True
    """

    def __init__(self, interval_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._trim = _load_malloc_trim()
        self._last: float | None = None

    @property
    def available(self) -> bool:
        return self._trim is not None

    def maybe_trim(self) -> bool:
        """Trim now if it is time; True if it trimmed."""
        now = self._clock()
        if self._last is not None and now - self._last < self.interval_seconds:
            return False
        self._last = now
        if self._trim is None:
            return False
        self._trim(0)
        return True
