"""How soon could any test see the simulated NPS drift? Evidence at hours after its start.

Reads a scenario that ``benchmarks/cx_evaluation.py`` wrote (``events.jsonl`` and
``labels.json`` in ``--workdir``) and measures, on the email NPS answers alone:

- the oracle: a test that knows the drift's start, its linear shape and the true
  NPS of the simulator's score mix (expected and realized log-likelihood ratio);
- the same with the baseline a detector would have: the mean of the answers
  before the start;
- a ramp GLR: the best linear ramp starting 3 h to 3 days back, against the
  mean of the (up to) week of answers before its start, the baseline's own
  error included in the variance; when it first crosses each threshold;
- that ramp GLR's false-alarm onsets per week on simulated answers with no
  drift (the scenario's hourly volumes, the same score mix).

The ``kohta`` detector does not use this test: it is the yardstick for what a
test matched to the drift could reach.

    python benchmarks/nps_drift_reach.py --workdir /tmp/cx1 [--null-days 200]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import orjson

from streams.evaluation import label_epoch
from streams.simulation.catalog import _NPS
from streams.simulation.incidents import NPS_DRIFT_DETRACTORS

HOURS = (12, 18, 21, 24, 27.5, 30)
THRESHOLDS = (5, 6, 7, 8, 9, 10, 11)


def _points(score: int) -> float:
    return 100.0 * ((score >= 9) - (score <= 6))


def _minutes(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Email NPS answers per minute: mid-minute time, count, sum of points."""
    per: dict[int, list[float]] = {}
    with path.open("rb") as source:
        for line in source:
            if b'"survey":"nps"' not in line:
                continue
            ev = orjson.loads(line)
            if ev.get("channel") != "email" or ev.get("score") is None:
                continue
            cell = per.setdefault(int(ev["ts"] // 60), [0.0, 0.0])
            cell[0] += 1
            cell[1] += _points(ev["score"])
    keys = sorted(per)
    return (np.array(keys, dtype=float) * 60 + 30, np.array([per[k][0] for k in keys]),
            np.array([per[k][1] for k in keys]))


def ramp_glr(t, n, x, ends, sd, *, starts=None, min_back=3 * 3600, max_back=3 * 86400,
             step=1800, base_days=7, min_base=1000):
    """Largest downward ramp log-likelihood ratio at each time in ``ends``.

    Prefix sums make each (start, end) pair O(1); ``starts`` fixes the start.
    """
    hours = (t - t[0]) / 3600.0

    def cum(values):
        return np.concatenate([[0.0], np.cumsum(values)])

    cx, ctx, cn, ctn, ct2n = cum(x), cum(hours * x), cum(n), cum(hours * n), cum(hours * hours * n)
    out = []
    for end in ends:
        ss = np.array(starts if starts is not None else np.arange(end - max_back, end - min_back + 1, step))
        j = np.searchsorted(t, end)
        i, i0 = np.searchsorted(t, ss), np.searchsorted(t, ss - base_days * 86400)
        nb = cn[i] - cn[i0]
        mu = (cx[i] - cx[i0]) / np.maximum(nb, 1)
        s = (ss - t[0]) / 3600.0
        big_n, tn, t2n = cn[j] - cn[i], ctn[j] - ctn[i], ct2n[j] - ct2n[i]
        h = tn - s * big_n  # sum of the ramp's heights over the answers
        drop = mu * h - ((ctx[j] - ctx[i]) - s * (cx[j] - cx[i]))
        var = sd * sd * ((t2n - 2 * s * tn + s * s * big_n) + h * h / np.maximum(nb, 1))
        ok = (drop > 0) & (nb >= min_base) & (var > 0)
        llr = np.where(ok, drop * drop / (2 * np.where(ok, var, 1.0)), 0.0)
        out.append(float(llr.max()) if llr.size else 0.0)
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(".kohta/bench"))
    parser.add_argument("--null-days", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated no-drift answers")
    args = parser.parse_args()

    labels = orjson.loads((args.workdir / "labels.json").read_bytes())
    drift = next(i for i in labels["incidents"] if i["kind"] == "nps_drift")
    a, b = label_epoch(drift["start"]), label_epoch(drift["end"])
    t, n, x = _minutes(args.workdir / "events.jsonl")
    scores = [_points(s) for s in _NPS]
    mu = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mu) ** 2 for s in scores) / len(scores))
    before = t < a
    print(f"drift {drift['start']} .. {drift['end']}; true NPS {mu:.1f}, {sd:.1f} points per answer; "
          f"{int(n[before].sum())} answers before it (mean {x[before].sum() / n[before].sum():.1f})")

    def shift(times):  # points lost at these times under the simulated ramp
        return 100.0 * (1 + mu / 100.0) * NPS_DRIFT_DETRACTORS * np.clip((times - a) / (b - a), 0, 1)

    print(f"{'hours after start':<44}" + "".join(f"{h:>7}" for h in HOURS))
    rows = {"oracle, expected LLR": [], "oracle, realized LLR": [],
            "known start+shape, baseline = data before": []}
    for hour in HOURS:
        m = (t >= a) & (t < a + hour * 3600)
        w = shift(t[m])
        info = float((n[m] * w * w).sum())
        rows["oracle, expected LLR"].append(info / (2 * sd * sd))
        stat = float((w * (mu * n[m] - x[m])).sum())
        rows["oracle, realized LLR"].append(max(stat, 0.0) ** 2 / (2 * sd * sd * info))
        rows["known start+shape, baseline = data before"].append(
            ramp_glr(t, n, x, [a + hour * 3600], sd, starts=[a])[0])
    rows["ramp GLR, unknown start (3 h-3 d)"] = list(ramp_glr(t, n, x, a + np.array(HOURS) * 3600, sd))
    for name, values in rows.items():
        print(f"{name:<44}" + "".join(f"{v:7.1f}" for v in values))

    ends = np.arange(a, b, 300.0)
    path = ramp_glr(t, n, x, ends, sd)
    crossed = {h: (ends[np.argmax(path >= h)] - a) / 3600 if (path >= h).any() else None for h in THRESHOLDS}

    # No drift: the scenario's mean volume per hour of day, the simulator's score mix.
    rng = np.random.default_rng(args.seed)
    days = (t[-1] - t[0]) / 86400
    by_hour = np.bincount(((t // 3600) % 24).astype(int), weights=n, minlength=24) / days / 60
    tn = np.arange(args.null_days * 1440) * 60.0 + 30
    nn = rng.poisson(by_hour[((tn // 3600) % 24).astype(int)])
    promoters = rng.binomial(nn, 0.5)
    detractors = rng.binomial(nn - promoters, 0.4)
    keep = nn > 0
    tn, nn, xn = tn[keep], nn[keep].astype(float), 100.0 * (promoters - detractors)[keep]
    null = ramp_glr(tn, nn, xn, np.arange(tn[0] + 2 * 86400, tn[-1], 600.0), sd)
    weeks = (args.null_days - 2) / 7
    print(f"\n{'ramp GLR threshold':<44}" + "".join(f"{h:>7}" for h in THRESHOLDS))
    print(f"{'  first crossing, hours after start':<44}"
          + "".join(f"{'-' if c is None else f'{c:.1f}':>7}" for c in crossed.values()))
    onsets = [int(((null[1:] >= h) & (null[:-1] < h)).sum() + (null[0] >= h)) for h in THRESHOLDS]
    print(f"{f'  false alarms/week, {args.null_days} days no drift':<44}"
          + "".join(f"{o / weeks:7.2f}" for o in onsets))


if __name__ == "__main__":
    main()
