"""The long SIGKILL loop: a kohta worker killed and restarted many times mid-stream.

The long form of ``tests/integration/test_faults.py::test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice``
(same code: ``run_kill_scenario``). It starts its own embedded broker, streams a
customer-experience scenario with an injected incident (webshop, chat and phone;
single-event messages and batch envelopes) in bursts while it SIGKILLs the worker
at random moments (seeded) and restarts it, closes every window, then
compares the worker's state, read back from its changelog topics, and its alerts
with a reference computed by ``streams.backtest.Backtest`` over the same messages.

    python benchmarks/kill_loop.py [--kills 20] [--seed 1] [--windows N]

It prints what it counted: kills, events, events lost and counted twice (window by
window), closes missing from the alert state, whether the alerts and every state
table equal the reference. Exit status 0 if everything matches, 1 otherwise.
About 10 s per kill on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streams.broker import EmbeddedBroker  # noqa: E402
from tests.integration.test_faults import run_kill_scenario  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--windows", type=int, default=None,
                        help="60-s windows in the scenario (default: 10 per kill, at least 40)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep configs and worker logs here")
    args = parser.parse_args(argv)
    windows = args.windows or max(40, 10 * args.kills)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kohta-kill-loop-"))
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    print(f"{args.kills} kills over {windows} windows, seed {args.seed}; logs in {workdir}", flush=True)
    with EmbeddedBroker(log_path=workdir / "tansu.log") as broker:
        report = run_kill_scenario(
            broker, workdir, f"kill-loop-{args.seed}", kills=args.kills, windows=windows, seed=args.seed,
            log=lambda line: print(line, flush=True),
        )
    c = report.comparison
    print()
    print("\n".join(report.lines()))
    print()
    print(f"kills: {report.kills}")
    print(f"events: {report.events} produced, {c.events} in the final state")
    print(f"lost: {c.lost}")
    print(f"double-counted: {c.double_counted}")
    print(f"alerts equal to reference: {'yes' if c.alerts_equal else 'no'}")
    print(f"state equal to reference: {'yes' if c.ok else 'no'}")
    print(f"took {time.monotonic() - began:.0f} s")
    return 0 if c.ok and c.events == report.events else 1


if __name__ == "__main__":
    raise SystemExit(main())
