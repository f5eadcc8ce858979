"""Where a channel-level deviation comes from: the touchpoints holding most of it.

For a metric kept per touchpoint as well, each touchpoint's excess over its own
expected value is compared with the channel's excess; those carrying a real
share of it are named in the alert ("80 % of the excess in touchpoint=billing").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.alerting import WindowResult

MIN_SHARE = 0.1
MAX_NAMED = 3


def contributors(metric: str, results: Mapping[str, WindowResult]) -> list[dict[str, Any]]:
    channel = results.get(metric)
    if channel is None or channel.verdict is None or channel.verdict.expected is None or channel.observed is None:
        return []
    excess = channel.observed - channel.verdict.expected
    if excess == 0:
        return []
    named = []
    prefix = f"{metric}@"
    for key, part in results.items():
        if not key.startswith(prefix) or part.verdict is None or part.verdict.expected is None:
            continue
        if part.observed is None:
            continue
        share = (part.observed - part.verdict.expected) / excess
        if share >= MIN_SHARE:
            named.append({
                "touchpoint": key[len(prefix):],
                "observed": part.observed,
                "expected": part.verdict.expected,
                "share": round(share, 3),
            })
    named.sort(key=lambda c: c["share"], reverse=True)
    return named[:MAX_NAMED]


def attach_contributors(records: list[dict[str, Any]], results: Mapping[str, WindowResult]) -> None:
    """Add ``contributors`` to the channel-level anomaly records of one window."""
    for record in records:
        if record["kind"] == "anomaly" and record["touchpoint"] is None and record["status"] != "resolved":
            record["contributors"] = contributors(record["metric"], results)
