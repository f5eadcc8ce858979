"""The NAB scorer, as described in the corpus README: pure functions, no I/O.

A file is scored from its per-row anomaly scores and its windows (inclusive row
indices). Rows in probation never count; inside a window only the first detection
counts, weighted by how early it came; outside, every detection is a false alarm
whose cost shrinks when it sits just after a window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Windows = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class Profile:
    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES = {
    p.name: p
    for p in (
        Profile("standard", 1.0, 0.11, 1.0),
        Profile("reward_low_FP", 1.0, 0.22, 1.0),
        Profile("reward_low_FN", 1.0, 0.11, 2.0),
    )
}

_SIGMA_AT_LEFT = 2.0 / (1.0 + math.exp(-5.0)) - 1.0


def probation(n: int) -> int:
    """Rows at the start of an ``n``-row file that are never counted."""
    return min(math.floor(0.15 * n), math.floor(0.15 * 5000))


def tp_weight(i: int, right: int, width: int) -> float:
    """sigma(p) for a first detection at row i: 1 at the window's left edge, ~0 at its right."""
    p = -(right - i + 1) / width
    return (2.0 / (1.0 + math.exp(5.0 * p)) - 1.0) / _SIGMA_AT_LEFT


def fp_weight(i: int, prev: tuple[int, int] | None) -> float:
    """s for a false alarm at row i, in [-1, 0): close after the previous window costs little."""
    if prev is None:
        return -1.0
    left, right = prev
    width = right - left + 1
    if width < 2:  # q would divide by zero; a one-row window gives no grace period
        return -1.0
    q = abs(right - i) / (width - 1)
    return -1.0 if q > 3 else 2.0 / (1.0 + math.exp(5.0 * q)) - 1.0


def row_weights(n: int, windows: Windows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: window index (-1 outside windows or in probation), TP weight, FP weight.

    FP weight is 0 for rows that can never be false alarms (probation, inside a window).
    """
    win = np.full(n, -1, dtype=np.int64)
    tp = np.zeros(n)
    fp = np.zeros(n)
    start = probation(n)
    ordered = sorted(windows)
    k, prev = 0, None
    for i in range(start, n):
        while k < len(ordered) and ordered[k][1] < i:
            prev, k = ordered[k], k + 1
        if k < len(ordered) and ordered[k][0] <= i:
            left, right = ordered[k]
            win[i], tp[i] = k, tp_weight(i, right, right - left + 1)
        else:
            fp[i] = fp_weight(i, prev)
    return win, tp, fp


@dataclass(frozen=True)
class FileScore:
    raw: float
    tp: int  # windows detected
    fn: int  # windows missed
    fp: int  # counted false-alarm rows


def score_file(scores: Sequence[float], windows: Windows, threshold: float, profile: Profile) -> FileScore:
    """Raw NAB score of one file at one threshold (rows with score >= threshold detect)."""
    win, tp, fp = row_weights(len(scores), windows)
    hit = np.asarray(scores, dtype=float) >= threshold
    raw, n_fp, detected = 0.0, 0, set()
    for i in np.flatnonzero(hit):
        w = win[i]
        if w >= 0:
            if w not in detected:  # only the first (earliest) detection in a window counts
                detected.add(w)
                raw += profile.a_tp * tp[i]
        elif fp[i] != 0.0:
            raw += profile.a_fp * fp[i]
            n_fp += 1
    missed = len(windows) - len(detected)
    return FileScore(float(raw - profile.a_fn * missed), len(detected), missed, n_fp)


def null_and_perfect(n_windows: int, profile: Profile) -> tuple[float, float]:
    return -profile.a_fn * n_windows, profile.a_tp * n_windows


def normalise(raw: float, n_windows: int, profile: Profile) -> float:
    """0 for the null detector, 100 for the perfect one; NaN without windows (no scale)."""
    null, perfect = null_and_perfect(n_windows, profile)
    if perfect == null:
        return math.nan
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class CorpusScore:
    profile: str
    threshold: float
    raw: float
    score: float  # normalised, 0 = null detector, 100 = perfect
    tp: int
    fn: int
    fp: int


def score_corpus(
    files: Sequence[tuple[Sequence[float], Windows]], profile: Profile, threshold: float
) -> CorpusScore:
    parts = [score_file(s, w, threshold, profile) for s, w in files]
    raw = sum(p.raw for p in parts)
    n_windows = sum(len(w) for _, w in files)
    return CorpusScore(
        profile.name, float(threshold), float(raw), float(normalise(raw, n_windows, profile)),
        sum(p.tp for p in parts), sum(p.fn for p in parts), sum(p.fp for p in parts),
    )


def best_threshold(files: Sequence[tuple[Sequence[float], Windows]], profile: Profile) -> float:
    """The threshold (a distinct score value) that maximises the corpus raw score.

    Lowering the threshold past a row turns it into a detection; sweeping all rows
    in decreasing score order gives the raw score at every distinct threshold in
    one pass. A window's reward is its best (earliest) detected row so far.
    """
    scores, win, tp, fp = [], [], [], []
    offset = 0
    for s, windows in files:
        w, t, f = row_weights(len(s), windows)
        scores.append(np.asarray(s, dtype=float))
        win.append(np.where(w >= 0, w + offset, -1))
        tp.append(t)
        fp.append(f)
        offset += len(windows)
    score, win, tp, fp = (np.concatenate(a) for a in (scores, win, tp, fp))
    order = np.argsort(-score, kind="stable")
    delta = profile.a_fp * fp[order]
    win, tp = win[order], tp[order]
    best = np.full(offset, np.nan)
    for pos in np.flatnonzero(win >= 0):
        w, reward = win[pos], profile.a_tp * tp[pos]
        if np.isnan(best[w]):
            delta[pos] = reward + profile.a_fn  # a missed window becomes a hit
            best[w] = reward
        elif reward > best[w]:
            delta[pos] = reward - best[w]
            best[w] = reward
    total = np.cumsum(delta)
    sorted_scores = score[order]
    # Only the last row of a run of equal scores is a valid cut.
    ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    if len(ends) == 0 or total[ends].max() <= 0.0:
        return math.nextafter(float(score.max(initial=1.0)), math.inf)  # firing never helps
    return float(sorted_scores[ends[int(np.argmax(total[ends]))]])


def optimise(files: Sequence[tuple[Sequence[float], Windows]], profile: Profile) -> CorpusScore:
    """Score the corpus at this profile's own optimised threshold."""
    return score_corpus(files, profile, best_threshold(files, profile))
