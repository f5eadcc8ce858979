"""The backtest's HTML report: per alerted series, observed values against the
expected band, with its alerts marked. Plain HTML and inline SVG, no scripts."""

from __future__ import annotations

import html
from array import array
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.alerting import WindowResult

_WIDTH, _HEIGHT, _PAD = 960, 220, 36
_CONTEXT_SECONDS = 6 * 3600  # shown either side of a series' alerts
_MAX_POINTS = 1500


class SeriesRecorder:
    """Keeps every closed window's value and band, compactly, per series."""

    def __init__(self) -> None:
        self.tracks: dict[str, tuple[array, ...]] = defaultdict(lambda: tuple(array("d") for _ in range(5)))

    def __call__(self, result: WindowResult) -> None:
        if result.observed is None or result.verdict is None:
            return
        verdict = result.verdict
        nan = float("nan")
        for column, value in zip(
            self.tracks[result.series.id],
            (result.start, result.observed, verdict.expected, verdict.lower, verdict.upper),
            strict=True,
        ):
            column.append(nan if value is None else value)


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _chart(track: tuple[array, ...], alerts: list[dict[str, Any]]) -> str:
    times, observed, expected, lower, upper = track
    first = min(a["start_epoch"] for a in alerts) - _CONTEXT_SECONDS
    last = max(a.get("resolved_epoch") or a["detected_at_epoch"] for a in alerts) + _CONTEXT_SECONDS
    rows = [i for i, t in enumerate(times) if first <= t <= last]
    if not rows:
        return "<p>no windows recorded</p>"
    step = max(1, len(rows) // _MAX_POINTS)
    rows = rows[::step]
    t0, t1 = times[rows[0]], times[rows[-1]] or times[rows[0]] + 1
    values = [v for i in rows for v in (observed[i], lower[i], upper[i]) if v == v]
    low, high = min(values), max(values)
    span_t, span_v = max(t1 - t0, 1.0), max(high - low, 1e-9)

    def x(t: float) -> float:
        return _PAD + (t - t0) / span_t * (_WIDTH - 2 * _PAD)

    def y(v: float) -> float:
        return _HEIGHT - _PAD - (v - low) / span_v * (_HEIGHT - 2 * _PAD)

    band_top = [f"{x(times[i]):.1f},{y(upper[i]):.1f}" for i in rows if upper[i] == upper[i]]
    band_bottom = [f"{x(times[i]):.1f},{y(lower[i]):.1f}" for i in reversed(rows) if lower[i] == lower[i]]
    line = " ".join(f"{x(times[i]):.1f},{y(observed[i]):.1f}" for i in rows)
    marks = []
    for alert in alerts:
        a0 = max(alert["start_epoch"], t0)
        a1 = min(alert.get("resolved_epoch") or t1, t1)
        marks.append(
            f'<rect x="{x(a0):.1f}" y="{_PAD}" width="{max(x(a1) - x(a0), 2):.1f}" '
            f'height="{_HEIGHT - 2 * _PAD}" fill="#d62728" opacity="0.15"/>'
        )
    return (
        f'<svg viewBox="0 0 {_WIDTH} {_HEIGHT}" width="{_WIDTH}" height="{_HEIGHT}" role="img">'
        + "".join(marks)
        + f'<polygon points="{" ".join(band_top + band_bottom)}" fill="#1f77b4" opacity="0.2"/>'
        + f'<polyline points="{line}" fill="none" stroke="#222" stroke-width="1"/>'
        + f'<text x="{_PAD}" y="14" font-size="11">{high:.4g}</text>'
        + f'<text x="{_PAD}" y="{_HEIGHT - 8}" font-size="11">{low:.4g} · {_stamp(t0)} – {_stamp(t1)} UTC</text>'
        + "</svg>"
    )


def _pair_alerts(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Open records per series, each with its resolution time when one came."""
    by_id: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["status"] == "open":
            by_id[record["alert_id"]] = dict(record)
        elif record["status"] == "resolved" and record["alert_id"] in by_id:
            by_id[record["alert_id"]]["resolved_epoch"] = record.get("resolved_at_epoch")
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in by_id.values():
        series[alert["series"]].append(alert)
    return series


def write_report(path: Path, recorder: SeriesRecorder, records: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    alerted = _pair_alerts(records)
    sections = []
    for series_id in sorted(alerted):
        alerts = sorted(alerted[series_id], key=lambda a: a["start_epoch"])
        rows = "".join(
            f"<tr><td>{html.escape(a['start'])}</td><td>{html.escape(a['detected_at'])}</td>"
            f"<td>{html.escape(str(a.get('kind', 'anomaly')))}</td><td>{html.escape(str(a['direction']))}</td>"
            f"<td>{html.escape(str(a['severity']))}</td><td>{a['observed']:.4g}</td>"
            f"<td>{(a['expected'] if a['expected'] is not None else float('nan')):.4g}</td></tr>"
            for a in alerts
        )
        chart = _chart(recorder.tracks[series_id], alerts) if series_id in recorder.tracks else ""
        sections.append(
            f"<section><h2>{html.escape(series_id)}</h2>{chart}<table><tr><th>start</th><th>detected</th>"
            f"<th>kind</th><th>direction</th><th>severity</th><th>observed</th><th>expected</th></tr>"
            f"{rows}</table></section>"
        )
    facts = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in summary.items())
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>kohta backtest</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}section{margin-bottom:2em}"
        "</style></head><body><h1>kohta backtest</h1>"
        f"<p>Observed (black) against the expected band (blue); alerts in red.</p><ul>{facts}</ul>"
        + ("".join(sections) or "<p>No alerts.</p>")
        + "</body></html>"
    )
