"""Minute-by-minute event generation; incident effects live in :mod:`.incidents`."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from operator import itemgetter
from random import Random

from .catalog import CHANNELS, STREAMS, Stream
from .incidents import INCIDENT_KINDS, KINDS, Incident
from .rhythm import DAILY, MINUTES_PER_DAY, is_weekend
from .sampling import poisson

__all__ = ["INCIDENT_KINDS", "Incident", "generate_events"]

_TS = itemgetter("ts")


def generate_events(start: float, end: float, *, seed: int = 0, incidents: Sequence[Incident] = (),
                    rate_scale: float = 1.0) -> Iterator[dict]:
    """Schema v1 touchpoint events with ``start <= ts < end``, in ``ts`` order.

    Each absolute epoch minute draws from its own RNG seeded by ``(seed,
    minute)``, so output is deterministic and does not depend on how a range is
    split: generating ``[a, b)`` then ``[b, c)`` yields exactly ``[a, c)``.
    Event ids are ``"{seed}-{minute}-{index}"``, unique for a seed; events an
    incident adds are numbered after the minute's regular ones.
    """
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ValueError(f"need finite start <= end, got {start!r}..{end!r}")
    if not (math.isfinite(rate_scale) and rate_scale >= 0.0):
        raise ValueError(f"rate_scale must be finite and >= 0, got {rate_scale!r}")
    for incident in incidents:
        if not isinstance(incident, Incident):
            raise TypeError(f"incidents must be Incident instances, got {incident!r}")
    return _generate(float(start), float(end), int(seed), tuple(incidents), float(rate_scale))


def _generate(start: float, end: float, seed: int, incidents: tuple[Incident, ...],
              rate_scale: float) -> Iterator[dict]:
    rng = Random()
    rnd = rng.random
    plan = [(s, DAILY[CHANNELS[s.channel].profile], CHANNELS[s.channel].weekend,
             s.peak_per_minute * rate_scale) for s in STREAMS]
    minute = math.floor(start / 60.0)
    while minute * 60.0 < end:
        t0 = minute * 60.0
        rng.seed(f"kohta:{seed}:{minute}")
        tod = minute % MINUTES_PER_DAY
        weekend = is_weekend(minute)
        # Ids are given before effects and before trimming to [start, end), so
        # an event keeps its id however the range is chunked and whatever an
        # incident does to its neighbours.
        prefix = f"{seed}-{minute}-"
        events: list[dict] = []
        for stream, daily, weekend_factor, peak in plan:
            lam = peak * daily[tod] * (weekend_factor if weekend else 1.0)
            n = poisson(lam, rnd)
            if n:
                _emit(stream, n, t0, rng, events, prefix)
        # Effects draw from the RNG only after all base events, so events
        # outside an incident are identical to a run without it.
        active = [i for i in incidents if i.start < t0 + 60.0 and i.end > t0]
        if active:
            n_base = len(events)
            for incident in active:
                events = KINDS[incident.kind].effect(events, rng, incident, t0)
            for ev in events:
                if not ev["event_id"]:
                    ev["event_id"] = prefix + str(n_base)
                    n_base += 1
        events.sort(key=_TS)
        if t0 < start or t0 + 60.0 > end:
            events = [ev for ev in events if start <= ev["ts"] < end]
        yield from events
        minute += 1


def _emit(stream: Stream, n: int, t0: float, rng: Random, out: list[dict], prefix: str) -> None:
    # The hot loop: locals and lookup tables instead of attribute access and
    # random.choice, one uniform draw per field.
    rnd = rng.random
    channel, type_ = stream.channel, stream.type
    touchpoints, n_tp = stream.touchpoints, len(stream.touchpoints)
    segments, n_seg = stream.segments, len(stream.segments)
    survey, scores, n_sc = stream.survey, stream.scores, len(stream.scores)
    value, customer = stream.value, stream.customer
    for i in range(len(out), len(out) + n):
        ev = {"event_id": prefix + str(i), "ts": t0 + rnd() * 60.0, "channel": channel, "type": type_}
        if n_tp:
            ev["touchpoint"] = touchpoints[int(rnd() * n_tp)]
        if n_seg:
            ev["segment"] = segments[int(rnd() * n_seg)]
        if survey is not None:
            ev["survey"] = survey
            ev["score"] = scores[int(rnd() * n_sc)]
        if value is not None:
            ev["value"] = value(rng)
        if customer:
            ev["customer_id"] = f"c{100000 + int(rnd() * 900000)}"
        out.append(ev)
