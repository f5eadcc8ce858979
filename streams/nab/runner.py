"""Run kohta's univariate detector and the baselines over a NAB corpus and score them.

All file I/O lives here; ``corpus`` only reads, ``scoring`` is pure.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from detectors.univariate import UnivariateDetector
from streams.nab.baselines import half_space_trees, windowed_gaussian
from streams.nab.corpus import NabFile, load_corpus
from streams.nab.scoring import PROFILES, CorpusScore, optimise

Detector = Callable[[Iterable[float]], Iterator[float]]


def kohta(values: Iterable[float]) -> Iterator[float]:
    """kohta's default univariate detector with its default parameters, for every file."""
    det = UnivariateDetector()
    for v in values:
        yield det.score_one(v)  # scored before it is learned: no look-ahead
        det.learn_one(v)


DETECTORS: dict[str, Detector] = {
    "kohta": kohta,
    "half_space_trees": half_space_trees,
    "windowed_gaussian": windowed_gaussian,
}


@dataclass
class NabReport:
    """Per detector and profile, the corpus score at that profile's optimised threshold."""

    scores: dict[str, dict[str, CorpusScore]]
    seconds: dict[str, float]
    n_files: int
    n_windows: int
    out_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        head = f"{'detector':<18} {'profile':<14} {'score':>7} {'threshold':>10} {'TP':>4} {'FN':>4} {'FP':>5}"
        lines = [
            f"NAB: {self.n_files} files, {self.n_windows} windows "
            "(score: 0 = null detector, 100 = perfect)",
            head,
            "-" * len(head),
        ]
        for name, by_profile in self.scores.items():
            for profile, s in by_profile.items():
                lines.append(
                    f"{name:<18} {profile:<14} {s.score:7.2f} {s.threshold:10.6f} {s.tp:4d} {s.fn:4d} {s.fp:5d}"
                )
            lines.append(f"{'':<18} {'time':<14} {self.seconds[name]:6.1f}s")
        return "\n".join(lines + self.notes)

    def to_json(self) -> dict:
        return {
            "n_files": self.n_files,
            "n_windows": self.n_windows,
            "seconds": self.seconds,
            "scores": {
                name: {p: vars(s) | {"raw": float(s.raw), "score": float(s.score)} for p, s in by.items()}
                for name, by in self.scores.items()
            },
        }


def write_results(path: Path, f: NabFile, scores: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "value", "anomaly_score", "label"])
        for row in zip(f.timestamps, f.values, scores, f.labels()):
            out.writerow(row)


def run_nab(
    data_dir: Path,
    labels_path: Path,
    out_dir: Path,
    *,
    progress: Callable[[str], None] | None = None,
    detectors: dict[str, Detector] | None = None,
) -> NabReport:
    """Score every file with each detector, write OUT/<detector>/<category>/<detector>_<file>.csv,
    and return the normalised NAB scores for the three profiles."""
    files = load_corpus(Path(data_dir), Path(labels_path))
    out_dir = Path(out_dir)
    detectors = DETECTORS if detectors is None else detectors
    scores: dict[str, dict[str, CorpusScore]] = {}
    seconds: dict[str, float] = {}
    for name, detector in detectors.items():
        per_file, elapsed = [], 0.0
        for i, f in enumerate(files, 1):
            if progress:
                progress(f"{name}: {f.key} ({i}/{len(files)})")
            start = time.perf_counter()
            s = [float(x) for x in detector(f.values)]
            elapsed += time.perf_counter() - start
            if len(s) != len(f.values) or not all(0.0 <= x <= 1.0 for x in s):
                raise ValueError(f"{name} must give one score in [0, 1] per row of {f.key}")
            write_results(out_dir / name / f.category / f"{name}_{f.name}", f, s)
            per_file.append((s, f.windows))
        seconds[name] = elapsed
        scores[name] = {p: optimise(per_file, profile) for p, profile in PROFILES.items()}
    report = NabReport(scores, seconds, len(files), sum(len(f.windows) for f in files), out_dir)
    (out_dir / "scores.json").write_text(json.dumps(report.to_json(), indent=1))
    (out_dir / "scores.txt").write_text(report.render() + "\n")
    return report
