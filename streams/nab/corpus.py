"""Reading the NAB corpus: data/<category>/<file>.csv plus labels.json.

Timestamps are parsed rather than compared as strings because labels.json writes
them with microseconds ("2014-04-10 07:15:00.000000") and the CSVs do not.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class NabFile:
    """One labelled stream: its rows and its anomaly windows as inclusive row indices."""

    key: str  # "<category>/<file>.csv", as in labels.json
    timestamps: list[str]
    values: list[float]
    windows: list[tuple[int, int]]

    @property
    def category(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]

    def labels(self) -> list[int]:
        """1 inside a labelled window, else 0."""
        out = [0] * len(self.values)
        for left, right in self.windows:
            out[left : right + 1] = [1] * (right - left + 1)
        return out


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def window_indices(stamps: list[datetime], windows: list[list[str]]) -> list[tuple[int, int]]:
    """Row-index spans of timestamp windows; a window that covers no row is dropped."""
    out = []
    for start, end in windows:
        lo, hi = parse_ts(start), parse_ts(end)
        inside = [i for i, t in enumerate(stamps) if lo <= t <= hi]
        if inside:
            out.append((inside[0], inside[-1]))
    return sorted(out)


def read_csv(path: Path) -> tuple[list[str], list[float]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["timestamp"] for r in rows], [float(r["value"]) for r in rows]


def load_corpus(data_dir: Path, labels_path: Path) -> list[NabFile]:
    """Every file listed in labels.json, in sorted key order."""
    labels = json.loads(Path(labels_path).read_text())
    files = []
    for key in sorted(labels):
        stamps, values = read_csv(Path(data_dir) / key)
        spans = window_indices([parse_ts(s) for s in stamps], labels[key])
        files.append(NabFile(key, stamps, values, spans))
    return files
