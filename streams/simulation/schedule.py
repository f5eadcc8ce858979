"""Where a scenario puts its incidents, and the labels that say so.

A scenario is ``days`` days from ``start`` with about 16 incidents per 14 days:
each kind once, then the abrupt outages a second time, so a scenario of 8 days
or more has every kind. The first day stays clean so detectors can learn what
normal looks like. Abrupt incidents start between 09:00 and 21:00 UTC, when
every channel has traffic; incidents that share a channel keep hours apart so
neither the alerts nor the evaluation's grace period of one reach the next.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from datetime import UTC, datetime
from random import Random

from .incidents import KINDS, STORE_REGIONS, Incident

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
_ORDER = (
    "checkout_outage", "chat_outage", "invoicing_error", "delivery_problems",
    "store_smiley_drop", "campaign_spike", "login_failure", "nps_drift",
    "checkout_outage", "chat_outage", "login_failure", "delivery_problems",
    "invoicing_error", "store_smiley_drop", "campaign_spike", "checkout_outage",
)
INCIDENTS_PER_DAY = len(_ORDER) / 14
MIN_GAP = 3 * HOUR
DAYTIME = (9 * HOUR, 21 * HOUR)
ABRUPT_MINUTES = (20, 90)
CAMPAIGN_MINUTES = 120
DRIFT_HOURS = (48, 72)
# A drift ends this long before the scenario does, so its end is observed too.
DRIFT_MARGIN = 6 * HOUR
# 1970-01-01 was a Thursday; with Monday as 0 that is weekday 3.
_EPOCH_WEEKDAY = 3


def rfc3339(ts: float) -> str:
    """UTC, with ``Z``.

    >>> rfc3339(0.0)
    '1970-01-01T00:00:00Z'
    """
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def default_start(days: int, now: float | None = None) -> float:
    """The latest Monday 00:00 UTC at least ``days + 1`` days before ``now``,
    so that a whole scenario lies in the past (the pipeline rejects events from
    the future).

    >>> rfc3339(default_start(14, now=datetime(2024, 3, 20, 15, tzinfo=UTC).timestamp()))
    '2024-03-04T00:00:00Z'
    """
    now = time.time() if now is None else now
    day = math.floor((now - (days + 1) * DAY) / DAY)
    return (day - (day + _EPOCH_WEEKDAY) % 7) * DAY


def build_scenario(days: int, seed: int, start: float | None = None) -> tuple[list[Incident], list[dict]]:
    """Incidents for a ``days``-day scenario and their labels, both by start time.

    The schedule depends only on ``days``, ``seed`` and the time of day of
    ``start`` (default: :func:`default_start`).
    """
    if int(days) != days or days < 1:
        raise ValueError(f"days must be a whole number >= 1, got {days!r}")
    days = int(days)
    start = default_start(days) if start is None else float(start)
    if not math.isfinite(start):
        raise ValueError(f"start must be finite, got {start!r}")
    end = start + days * DAY
    rng = Random(f"kohta:scenario:{seed}:{days}")
    count = max(1, round(days * INCIDENTS_PER_DAY))
    placed: list[Incident] = []
    load: Counter[int] = Counter()
    for i in range(count):
        kind = _ORDER[i % len(_ORDER)]
        place = _place_drift if kind == "nps_drift" else _place_abrupt
        incident = place(kind, rng, start, end, days, placed, load)
        if incident is not None:
            placed.append(incident)
    placed.sort(key=lambda inc: (inc.start, inc.kind))
    return placed, _labels(placed)


def _midnight(start: float, day: int) -> float:
    return math.floor(start / DAY) * DAY + day * DAY


def _clashes(kind: str, s: float, e: float, placed: list[Incident]) -> bool:
    channels = set(KINDS[kind].channels)
    return any(channels & set(other.spec.channels)
               and s < other.end + MIN_GAP and other.start < e + MIN_GAP for other in placed)


def _place_abrupt(kind: str, rng: Random, start: float, end: float, days: int,
                  placed: list[Incident], load: Counter[int]) -> Incident | None:
    candidates = list(range(1 if days >= 2 else 0, days))
    for attempt in range(80):
        # Fill the quietest days first, so incidents spread over the scenario.
        if attempt < 40:
            least = min(load[d] for d in candidates)
            day = rng.choice([d for d in candidates if load[d] == least])
        else:
            day = rng.choice(candidates)
        minutes = CAMPAIGN_MINUTES if kind == "campaign_spike" else rng.randint(*ABRUPT_MINUTES)
        latest = int((DAYTIME[1] - DAYTIME[0]) / MINUTE) - minutes
        s = _midnight(start, day) + DAYTIME[0] + rng.randint(0, latest) * MINUTE
        e = s + minutes * MINUTE
        if s < start or e > end or _clashes(kind, s, e, placed):
            continue
        load[day] += 1
        params = {"region": rng.choice(STORE_REGIONS)} if kind == "store_smiley_drop" else None
        return Incident(kind, s, e, params)
    return None


def _place_drift(kind: str, rng: Random, start: float, end: float, days: int,
                 placed: list[Incident], load: Counter[int]) -> Incident | None:
    hours = rng.randint(*DRIFT_HOURS)
    first = 1 if days >= 2 else 0
    fits = []
    for day in range(first, days):
        s = _midnight(start, day) + rng.randint(6, 12) * HOUR
        e = s + hours * HOUR
        if s >= start and e <= end - DRIFT_MARGIN and not _clashes(kind, s, e, placed):
            fits.append((s, e))
    if not fits:
        return None
    s, e = rng.choice(fits)
    return Incident(kind, s, e)


def _labels(incidents: list[Incident]) -> list[dict]:
    seen: Counter[str] = Counter()
    labels = []
    for inc in incidents:
        seen[inc.kind] += 1
        spec = inc.spec
        label = {"id": f"{inc.kind}-{seen[inc.kind]}", "kind": inc.kind,
                 "start": rfc3339(inc.start), "end": rfc3339(inc.end),
                 "channels": list(spec.channels), "metrics": list(spec.metrics), "abrupt": spec.abrupt}
        if "region" in spec.params:
            label["touchpoints"] = [inc.param("region")]
        labels.append(label)
    return labels
