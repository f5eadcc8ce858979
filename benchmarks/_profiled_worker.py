"""``kohta worker`` run in this process, with a profiler the benchmark can read.

    python benchmarks/_profiled_worker.py OUT --config FILE

Environment (read here only; kohta itself knows nothing of it):

- ``KOHTA_BENCH_PROFILER=cprofile``: cProfile over the whole run; the stats go to
  ``OUT`` (pstats format) when the worker stops.
- ``KOHTA_BENCH_PROFILER=heap``: each time ``OUT.trigger`` appears, one line of heap
  totals (VmRSS, glibc mallinfo2, Python's allocated blocks) is appended to ``OUT``;
  for ``OUT.trim`` the same after ``malloc_trim(0)`` (which changes the process: the
  harness asks for it only after its own measurement).
- ``KOHTA_BENCH_PROFILER=tracemalloc``: traces allocations (``BENCH_TRACE_FRAMES`` frames, default 8). Each time the
  file ``OUT.trigger`` appears, a snapshot is taken and the trigger removed; from the
  second snapshot on, the growth since the first is written to ``OUT`` (by line and
  by allocation traceback).

What-if (with any profiler, or ``BENCH_PROFILER=none``): ``BENCH_NOOP_BATCH=1`` replaces the agent's batch handler by one that only counts, to
measure what kohta's Faust wiring (tables, timer, web server, agents) costs alone.

The harness strips ``KOHTA_*`` variables from the worker's environment, so it passes
the profiler choice as ``BENCH_PROFILER`` and this script renames it.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _heap_summary() -> str:
    """glibc's view (mallinfo2) and pymalloc's (arenas) of the heap, in MiB."""
    parts = []
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        parts.append(f"glibc: heap {info.arena / 2**20:.1f} MiB, in use {info.uordblks / 2**20:.1f} MiB, "
                     f"free in heap {info.fordblks / 2**20:.1f} MiB, mmapped {info.hblkhd / 2**20:.1f} MiB")
    except (OSError, AttributeError):
        parts.append("glibc: mallinfo2 not available")
    blocks = sys.getallocatedblocks()
    parts.append(f"python: {blocks} allocated blocks")
    return "; ".join(parts)


def _watch_snapshots(out: Path) -> None:
    trigger = out.with_name(out.name + ".trigger")
    first: tracemalloc.Snapshot | None = None
    while True:
        time.sleep(0.3)
        if not trigger.exists():
            continue
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
        )
        if first is None:
            first = snapshot
            first_heap = _heap_summary()
        else:
            lines = [f"traced now {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB", "first: " + first_heap,
                     "now: " + _heap_summary()]
            by_line = snapshot.compare_to(first, "lineno")
            lines.append(f"growth since the first snapshot: {sum(s.size_diff for s in by_line) / 2**20:.1f} MiB")
            lines.append("-- top lines --")
            lines += [str(s) for s in by_line[:40]]
            lines.append("-- top tracebacks --")
            for stat in snapshot.compare_to(first, "traceback")[:12]:
                lines.append(f"{stat.size_diff / 2**20:.2f} MiB in {stat.count_diff} blocks")
                lines += ["    " + line for line in stat.traceback.format(limit=12)]
            out.write_text("\n".join(lines) + "\n")
        trigger.unlink()


def _watch_heap(out: Path) -> None:
    """Heap totals on request, without tracing: one line appended to ``OUT`` per trigger.

    ``OUT.trigger``: the totals as they are. ``OUT.trim``: ``malloc_trim(0)`` first, then
    the totals (what of the resident heap glibc could give back; it changes the process,
    so the harness asks for it only after its measurement).
    """
    trigger = out.with_name(out.name + ".trigger")
    trim = out.with_name(out.name + ".trim")
    while True:
        time.sleep(0.3)
        for path in (trigger, trim):
            if not path.exists():
                continue
            prefix = ""
            if path is trim or os.environ.get("BENCH_MALLOC_TRIM"):
                ctypes.CDLL("libc.so.6").malloc_trim(0)
                prefix = "after malloc_trim(0): "
            with out.open("a") as sink:
                sink.write(f"{prefix}VmRSS {_rss_kib() / 1024:.1f} MiB; " + _heap_summary() + "\n")
            path.unlink()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _patch_noop_batch() -> None:
    """What-if: kohta's app, tables, timer and web server, but the agent's batch handler
    only counts (messages per topic, events as 1 per message): the cost of the wiring."""
    from collections import Counter

    from streams.processor import Processor

    async def handle_batch(self: Processor, messages: list) -> None:
        for topic, count in Counter(m.topic for m in messages).items():
            self.telemetry.messages.labels(topic=topic).inc(count)
        self.telemetry.events.labels(channel="noop", outcome="accepted").inc(len(messages))

    Processor.handle_batch = handle_batch  # type: ignore[method-assign]


def main() -> None:
    out = Path(sys.argv[1])
    sys.argv = [sys.argv[0], "worker", *sys.argv[2:]]
    profiler = os.environ.get("BENCH_PROFILER", "cprofile")
    if os.environ.get("BENCH_NOOP_BATCH"):
        _patch_noop_batch()
    from streams.cli import cli

    if profiler == "none":
        cli(standalone_mode=False)
        return

    if profiler == "heap":
        threading.Thread(target=_watch_heap, args=(out,), daemon=True).start()
        cli(standalone_mode=False)
        return
    if profiler == "tracemalloc":
        tracemalloc.start(int(os.environ.get("BENCH_TRACE_FRAMES", "8")))
        threading.Thread(target=_watch_snapshots, args=(out,), daemon=True).start()
        cli(standalone_mode=False)
        return
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    try:
        cli(standalone_mode=False)
    finally:
        prof.disable()
        prof.dump_stats(str(out))


if __name__ == "__main__":
    main()
