"""Giving freed heap back to the operating system (glibc's ``malloc_trim``).

Each window close turns every series' stored state into detector objects and back,
a burst of short-lived allocations. glibc keeps the memory they freed inside the
process, so the resident size grows far past what is in use (measured by
``benchmarks/throughput.py``'s memory test). Trimming after closes, at most once per
``interval_seconds``, returns it. A trim takes tens of milliseconds on a heap of a
few hundred megabytes (27-74 ms measured on 300 MB), so it is rationed; on a C
library without ``malloc_trim`` it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
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
    """Calls ``malloc_trim(0)`` if freeing was :meth:`expected` since the last trim and
    the last trim is at least ``interval_seconds`` old; and once more an interval
    after that, for what was freed late (producer buffers drain after the closes).

    >>> trimmer = HeapTrimmer(interval_seconds=5.0, clock=iter([0.0, 1.0, 6.0]).__next__)
    >>> trimmer.maybe_trim()  # nothing freed yet
    False
    >>> trimmer.expect()
    >>> # at 0 s it trims, at 1 s it is too soon, at 6 s comes the trailing trim, then nothing is due
    >>> [trimmer.maybe_trim() for _ in range(4)] == [trimmer.available, False, trimmer.available, False]
    True
    """

    def __init__(self, interval_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._trim = _load_malloc_trim()
        self._last = float("-inf")
        self._expected = False
        self._trailing = False

    @property
    def available(self) -> bool:
        return self._trim is not None

    def expect(self) -> None:
        """Memory was freed (windows closed): trim at the next chance."""
        self._expected = True

    def maybe_trim(self) -> bool:
        """Trim now if it is due; True if it trimmed."""
        if not (self._expected or self._trailing) or self._trim is None:
            return False
        now = self._clock()
        if now - self._last < self.interval_seconds:
            return False
        self._last = now
        self._trailing, self._expected = self._expected, False
        self._trim(0)
        return True


def tune_garbage_collector(young_threshold: int) -> None:
    """Freeze what exists now out of the collector's sight, and collect the young
    generation every ``young_threshold`` allocations (0: leave the defaults).

    Almost everything the worker allocates per message is freed by reference
    counting; the cyclic collector only has to find cycles, yet at Python's default
    (every 700 allocations) it runs thousands of times a second and each older-
    generation pass walks the whole heap of Faust, aiokafka and the tables. Objects
    made before the worker starts (modules, settings, the app) never become garbage,
    so ``gc.freeze`` takes them out of every pass.
    """
    if young_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
