"""State size and speed of SeasonalDetector, per series and metric kind.

Feeds 4 weeks of 60-s windows of a seasonal synthetic series (daily curve with a
~12 % night, quieter and later weekends) to one detector per kind, scoring then
learning each window as the engine does, and prints the JSON state size after 1 day,
1 week and 4 weeks, the time per ``score_one`` + ``learn_one`` and the false alarms
per day (the data has no anomalies).

    python benchmarks/detector_state.py
"""

from __future__ import annotations

import math
import time

import numpy as np
import orjson

from detectors import SeasonalDetector

DAY, MINUTE = 86400, 60
CHECKPOINTS = {1: "1 day", 7: "1 week", 28: "4 weeks"}


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def rhythm(t: np.ndarray) -> np.ndarray:
    """Share of the peak rate; weekends blend in over Friday and out over Sunday evening."""
    hours = t / 3600
    h, how = hours % 24, (hours + 72) % 168  # hour of day; hours since Monday 00:00
    weekend = np.where(how < 6, 1 - _smoothstep((how + 6) / 12),
                       np.where(how >= 162, 1 - _smoothstep((how - 162) / 12), _smoothstep((how - 114) / 12)))
    morning = np.exp(2.2 * (np.cos(2 * np.pi * (h - 13 - 3 * weekend) / 24) - 1))
    evening = np.exp(2.6 * (np.cos(2 * np.pi * (h - 20) / 24) - 1))
    return 0.1 + 0.9 * (0.75 * morning + 0.6 * evening) * (1 - 0.3 * weekend)


def rows(kind: str, ts: np.ndarray, rng: np.random.Generator) -> list[tuple]:
    shape = rhythm(ts)
    if kind == "count":
        return [(t, int(x), None, None) for t, x in zip(ts, rng.poisson(200 * shape))]
    ns = rng.poisson(300 * shape)
    out = []
    for t, n in zip(ts, ns):
        n = int(n)
        if n == 0:
            out.append((t, None, 0, None))
        elif kind in ("ratio", "share"):
            out.append((t, rng.binomial(n, 0.08 if kind == "ratio" else 0.6) / n, n, None))
        elif kind == "nps":
            p, d, _ = rng.multinomial(n, [0.5, 0.2, 0.3]) / n
            out.append((t, 100 * (p - d), n, 100 * math.sqrt(max(p + d - (p - d) ** 2, 0) / n)))
        else:
            v = rng.gamma(2.0, 150.0, size=n)
            out.append((t, float(v.mean()), n, float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else None))
    return out


def main() -> None:
    ts = np.arange(0, 28 * DAY, MINUTE, dtype=float)
    print(f"{'series':<16}" + "".join(f"{label:>10}" for label in CHECKPOINTS.values())
          + f"{'µs/window':>11}{'alarms/day':>12}")
    for kind, params in [("count", {}), ("count", {"profile": "week"}), ("ratio", {}),
                         ("share", {}), ("nps", {}), ("mean", {})]:
        data = rows(kind, ts, np.random.default_rng(0))
        det = SeasonalDetector(kind=kind, **params)
        sizes, alarms, spent = [], 0, 0.0
        per_day = len(data) // 28
        for day in range(28):
            chunk = data[day * per_day:(day + 1) * per_day]
            start = time.perf_counter()
            for t, x, n, se in chunk:
                alarms += det.score_one(x, t=t, n=n, se=se).is_anomaly
                det.learn_one(x, t=t, n=n, se=se)
            spent += time.perf_counter() - start
            if day + 1 in CHECKPOINTS:
                sizes.append(len(orjson.dumps(det.to_state())))
        name = kind + (f"/{params['profile']}" if params else "")
        print(f"{name:<16}" + "".join(f"{s:>8} B" for s in sizes)
              + f"{spent / len(data) * 1e6:>11.1f}{alarms / 28:>12.2f}")


if __name__ == "__main__":
    main()
