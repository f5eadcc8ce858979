"""py-spy profiles of a benchmark's worker processes, and where their samples go.

``benchmarks/throughput.py --profile`` records the bare Faust agent and the kohta
worker with :func:`start_py_spy` and prints :func:`summarize_profile` of each.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def start_py_spy(workdir: Path, profiles: list[Path], pid: int, tag: str) -> subprocess.Popen:
    """Record ``pid`` with py-spy into ``workdir`` until stopped; the output's path joins ``profiles``."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = workdir / f"profile-{tag}.txt"
    profiles.append(out)
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--nonblocking", "--threads",
         "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=open(workdir / f"profile-{tag}.log", "wb"),
    )


_BUCKETS = (
    ("agent body (kohta: streams/, detectors/; bare agent: its counting)",
     ("(streams/processor.py", "(streams/engine.py", "(streams/validation.py", "(streams/publisher.py",
      "(streams/telemetry.py", "(streams/changelog.py", "(detectors/", "build.<locals>.count", "build.<locals>.seen")),
    ("/metrics (aiohttp, prometheus_client)", ("(aiohttp/", "(prometheus_client/")),
    ("producer (aiokafka sender, Faust producer)", ("(aiokafka/producer/", "(faust/transport/producer.py",
                                                     "Producer.send", "ProducerBuffer")),
    ("consumer fetch (aiokafka)", ("(aiokafka/consumer/", "(aiokafka/conn.py", "(aiokafka/client.py")),
)


def _bucket(frames: list[str]) -> str:
    """The first category (in _BUCKETS order) any frame of the stack belongs to."""
    for name, markers in _BUCKETS:
        if any(m in f for f in frames for m in markers):
            return name
    return "Faust streams/asyncio (rest)"


def summarize_profile(path: Path, top: int = 25) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks (--threads)."""
    if not path.exists():
        return f"(no profile at {path})"
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = None
        if frames[0].startswith("thread "):
            thread, frames = frames[0].split(": ", 1)[-1], frames[1:]
        # "func (pkg/file.py:123)" -> "func (pkg/file.py)": one row per function.
        frames = [f.rsplit(":", 1)[0] + ")" if f.endswith(")") and ":" in f else f for f in frames]
        if not frames:
            continue
        if thread is not None:
            threads[thread] += count
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            incl[frame] += count
        buckets[_bucket(frames)] += count
    if not total:
        return f"(empty profile {path})"
    lines = [f"{total} samples (250/s); self% = in the function itself, incl% = with its callees"]
    if threads:
        lines.append("threads: " + ", ".join(f"{t} {100 * c / total:.0f}%" for t, c in threads.most_common()))
    lines.append("where the samples go: " + ", ".join(f"{b} {100 * c / total:.0f}%" for b, c in buckets.most_common()))
    lines.append(f"{'self%':>6} {'incl%':>6}  function (file)")
    for frame, count in own.most_common(top):
        lines.append(f"{100 * count / total:6.1f} {100 * incl[frame] / total:6.1f}  {frame}")
    lines.append("")
    lines.append("kohta's own code (streams/, detectors/), by inclusive share:")
    ours = [(f, c) for f, c in incl.most_common() if "(streams/" in f or "(detectors/" in f]
    for frame, count in ours[:top]:
        lines.append(f"{100 * own[frame] / total:6.1f} {100 * count / total:6.1f}  {frame}")
    return "\n".join(lines)
