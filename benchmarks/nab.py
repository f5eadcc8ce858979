"""Score kohta's univariate detector and the two baselines on the NAB corpus.

    python benchmarks/nab.py [--data DIR] [--labels FILE] [--out DIR]

Prints the table of normalised scores (standard, reward_low_FP, reward_low_FN), each at
its own optimised threshold, and the wall time of each detector.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.nab import run_nab  # noqa: E402

# The development subset beside the project root (../shared/nab).
NAB = Path(__file__).resolve().parents[2] / "shared" / "nab"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=NAB / "data")
    ap.add_argument("--labels", type=Path, default=NAB / "labels.json")
    ap.add_argument("--out", type=Path, default=None, help="results directory (default: a temporary one)")
    ap.add_argument("--quiet", action="store_true", help="no per-file progress on stderr")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="kohta-nab-"))
    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    start = time.perf_counter()
    report = run_nab(args.data, args.labels, out, progress=progress)
    print(report.render())
    print(f"total {time.perf_counter() - start:.1f}s; results in {out}")


if __name__ == "__main__":
    main()
