"""The NAB scorer against hand-worked examples, plus the corpus reader and runner.

Handy identities for checking the numbers by hand:
  2 / (1 + exp(x)) - 1 = -tanh(x / 2), so
  sigma(p) = tanh(-2.5 p) / tanh(2.5), with tanh(2.5) = 0.986614, and
  s(q)     = -tanh(2.5 q).
Unless said otherwise: n = 1000 rows, so probation = min(floor(150), 750) = 150 rows,
one window at rows 500..599 (width 100), threshold 0.5, standard profile
(A_TP = 1, A_FP = 0.11, A_FN = 1).
"""

from __future__ import annotations

import json
import math
import random

import pytest

from streams.nab import run_nab
from streams.nab.corpus import load_corpus
from streams.nab.scoring import (
    PROFILES,
    best_threshold,
    optimise,
    probation,
    score_corpus,
    score_file,
)

STD, LOW_FP, LOW_FN = PROFILES["standard"], PROFILES["reward_low_FP"], PROFILES["reward_low_FN"]
N = 1000
WINDOW = [(500, 599)]


def detections(*rows: int, n: int = N) -> list[float]:
    scores = [0.0] * n
    for r in rows:
        scores[r] = 1.0
    return scores


def raw(scores, windows=WINDOW, profile=STD) -> float:
    return score_file(scores, windows, 0.5, profile).raw


def test_probation_length():
    assert probation(1000) == 150  # floor(0.15 * 1000)
    assert probation(1625) == 243  # floor(243.75)
    assert probation(15902) == 750  # capped at 0.15 * 5000


def test_detection_at_left_edge_earns_a_tp():
    # i = 500: p = -(599 - 500 + 1) / 100 = -1, sigma(-1) = 1 exactly.
    assert raw(detections(500)) == pytest.approx(1.0)


def test_detection_at_right_edge_earns_almost_nothing():
    # i = 599: p = -1/100 = -0.01, sigma = tanh(0.025) / tanh(2.5) = 0.024995 / 0.986614 = 0.025334.
    assert raw(detections(599)) == pytest.approx(0.025334, abs=1e-6)


def test_detection_in_the_middle():
    # i = 550: p = -(599 - 550 + 1) / 100 = -0.5, sigma = tanh(1.25) / tanh(2.5)
    #        = 0.848284 / 0.986614 = 0.859793.
    assert raw(detections(550)) == pytest.approx(0.859793, abs=1e-6)


def test_missed_window_costs_a_fn():
    assert raw(detections()) == pytest.approx(-1.0)
    assert raw(detections(), profile=LOW_FN) == pytest.approx(-2.0)  # A_FN = 2


def test_false_positive_before_any_window_costs_a_fp():
    # Row 300 lies before every window: s = -1, so 0.11 * -1; the window is hit at its left edge (+1).
    assert raw(detections(300, 500)) == pytest.approx(1.0 - 0.11)
    assert raw(detections(300, 500), profile=LOW_FP) == pytest.approx(1.0 - 0.22)
    # No window at all: just the false alarm.
    assert raw(detections(300), windows=[]) == pytest.approx(-0.11)


def test_false_positive_right_after_a_window_is_cheap():
    # Row 600: q = |599 - 600| / (100 - 1) = 0.010101, s = -tanh(0.025253) = -0.025247,
    # cost 0.11 * 0.025247 = 0.002777. With the window hit at its left edge: 0.997223.
    assert raw(detections(500, 600)) == pytest.approx(0.997223, abs=1e-6)


def test_false_positive_far_after_a_window_costs_a_fp():
    # Row 999: q = 400 / 99 = 4.04 > 3, so s = -1 and the alarm costs the full 0.11.
    assert raw(detections(500, 999)) == pytest.approx(1.0 - 0.11)
    # Row 797: q = 198 / 99 = 2 <= 3, s = -tanh(5) = -0.999909: just under a full A_FP.
    assert raw(detections(500, 797)) == pytest.approx(1.0 - 0.11 * 0.999909, abs=1e-6)


def test_probation_rows_are_ignored():
    # Rows 0..149 never count: neither as a false alarm nor as a hit of a window there.
    assert raw(detections(10, 149)) == pytest.approx(-1.0)  # only the missed window counts
    early = [(100, 199)]
    assert score_file(detections(120), early, 0.5, STD).tp == 0  # hit in probation: still missed
    assert score_file(detections(160), early, 0.5, STD).tp == 1  # i = 160: counts


def test_only_the_first_detection_in_a_window_counts():
    # 550, 560, 599 all detect; only 550 counts (0.859793, as above), and none is a false alarm.
    res = score_file(detections(550, 560, 599), WINDOW, 0.5, STD)
    assert res.raw == pytest.approx(0.859793, abs=1e-6)
    assert (res.tp, res.fn, res.fp) == (1, 0, 0)


def test_consecutive_false_alarms_each_count():
    res = score_file(detections(300, 301, 302, 500), WINDOW, 0.5, STD)
    assert res.fp == 3
    assert res.raw == pytest.approx(1.0 - 3 * 0.11)


def test_threshold_is_at_or_above():
    scores = [0.0] * N
    scores[500] = 0.7
    assert score_file(scores, WINDOW, 0.7, STD).tp == 1
    assert score_file(scores, WINDOW, 0.7000001, STD).tp == 0


def test_normalisation_null_is_0_and_perfect_is_100():
    files = [(detections(), WINDOW), (detections(), [(200, 249), (700, 799)])]
    # Null: raw = -3 = -A_FN * windows, normalised 100 * (-3 + 3) / (3 + 3) = 0.
    assert score_corpus(files, STD, 0.5).score == pytest.approx(0.0)
    perfect = [(detections(500), WINDOW), (detections(200, 700), [(200, 249), (700, 799)])]
    # Perfect: +1 per window, raw = 3, normalised 100 * (3 + 3) / (3 + 3) = 100.
    for profile in PROFILES.values():
        assert score_corpus(perfect, profile, 0.5).score == pytest.approx(100.0)
    # Half: one of two windows hit at its left edge: raw 0 -> 100 * 2 / 4 = 50.
    half = [(detections(500), WINDOW), (detections(), WINDOW)]
    assert score_corpus(half, STD, 0.5).score == pytest.approx(50.0)


def test_optimised_threshold_picks_the_best_cut():
    # Window hit at its left edge with score 0.6; a false alarm before it with 0.9.
    scores = [0.0] * N
    scores[300], scores[500] = 0.9, 0.6
    files = [(scores, WINDOW)]
    # Thresholds: 0.9 -> -0.11 - 1 = -1.11; 0.6 -> -0.11 + 1 = 0.89; above 0.9 -> -1 (null).
    assert best_threshold(files, STD) == 0.6
    assert optimise(files, STD).raw == pytest.approx(0.89)


def test_optimised_threshold_never_fires_when_firing_only_hurts():
    scores = [0.0] * N
    scores[300] = 0.9  # a lone false alarm, no window
    res = optimise([(scores, [])], STD)
    assert res.threshold > 0.9 and res.raw == 0.0 and res.fp == 0
    assert math.isnan(res.score)  # no windows: nothing to normalise against


@pytest.mark.parametrize("seed", range(5))
def test_sweep_matches_brute_force(seed):
    rng = random.Random(seed)
    files = []
    for _ in range(3):
        n = rng.randint(200, 600)
        scores = [round(rng.random(), 2) for _ in range(n)]  # many ties on purpose
        left = rng.randint(probation(n), n - 40)
        files.append((scores, [(left, left + rng.randint(5, 30))]))
    for profile in PROFILES.values():
        candidates = sorted({s for scores, _ in files for s in scores}) + [1.01]
        brute = max(score_corpus(files, profile, t).raw for t in candidates)
        assert optimise(files, profile).raw == pytest.approx(brute)


def _write_corpus(root):
    data = root / "data" / "cat"
    data.mkdir(parents=True)
    rows = ["timestamp,value"]
    for i in range(400):
        v = 10.0 + math.sin(i / 4) + (40.0 if i == 300 else 0.0)
        rows.append(f"2020-01-01 {i // 60:02d}:{i % 60:02d}:00,{v}")
    (data / "spike.csv").write_text("\n".join(rows) + "\n")
    (data / "calm.csv").write_text("\n".join(rows[:300]) + "\n")  # stops before the spike
    labels = {
        "cat/spike.csv": [["2020-01-01 04:50:00.000000", "2020-01-01 05:09:00.000000"]],
        "cat/calm.csv": [],
    }
    (root / "labels.json").write_text(json.dumps(labels))
    return root / "data", root / "labels.json"


def test_corpus_maps_label_timestamps_to_rows(tmp_path):
    data, labels = _write_corpus(tmp_path)
    files = {f.key: f for f in load_corpus(data, labels)}
    spike = files["cat/spike.csv"]
    assert spike.windows == [(290, 309)]  # 04:50 is row 290, 05:09 row 309 (microseconds ignored)
    assert spike.labels()[289:291] == [0, 1] and sum(spike.labels()) == 20
    assert files["cat/calm.csv"].windows == []


def test_run_nab_writes_results_and_scores(tmp_path):
    data, labels = _write_corpus(tmp_path)
    seen = []
    report = run_nab(data, labels, tmp_path / "out", progress=seen.append)
    assert set(report.scores) == {"kohta", "half_space_trees", "windowed_gaussian"}
    for name in report.scores:
        path = tmp_path / "out" / name / "cat" / f"{name}_spike.csv"
        lines = path.read_text().splitlines()
        assert lines[0] == "timestamp,value,anomaly_score,label"
        assert len(lines) == 401 and lines[291].endswith(",1")  # row 290 is in the window
        assert set(report.scores[name]) == set(PROFILES)
    # The spike at row 300 (in the window) is the only thing to find; kohta finds it.
    assert report.scores["kohta"]["standard"].tp == 1
    assert "kohta" in report.render() and "reward_low_FN" in report.render()
    assert len(seen) == 3 * 2
    assert json.loads((tmp_path / "out" / "scores.json").read_text())["n_windows"] == 1
