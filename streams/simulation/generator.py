"""Minute-by-minute event generation and incident effects."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from random import Random

from .catalog import CHANNELS, HANDLE_TIME_SECONDS, STREAMS, Stream
from .rhythm import DAILY, MINUTES_PER_DAY, is_weekend
from .sampling import poisson

# Share of webshop conversions that still succeed during a checkout outage.
CHECKOUT_SURVIVAL = 0.03
# Share of would-be chat contacts that pick up the phone instead when chat is down.
CHAT_TO_PHONE = 0.7

_TS = itemgetter("ts")


def _checkout_outage(events: list[dict], rng: Random, start: float, end: float) -> list[dict]:
    # A failed payment leaves the cart behind, so lost conversions reappear as
    # abandons: visits stay flat, conversions collapse, abandons rise.
    rnd = rng.random
    for ev in events:
        if (ev["type"] == "conversion" and ev["channel"] == "webshop"
                and start <= ev["ts"] < end and rnd() >= CHECKOUT_SURVIVAL):
            ev["type"] = "cart_abandon"
            del ev["value"]
    return events


def _chat_outage(events: list[dict], rng: Random, start: float, end: float) -> list[dict]:
    # The same customers with the same question, now queuing on the phone.
    rnd = rng.random
    kept = []
    for ev in events:
        if ev["channel"] == "chat" and start <= ev["ts"] < end:
            if rnd() >= CHAT_TO_PHONE:
                continue
            ev["channel"] = "phone"
            ev["value"] = HANDLE_TIME_SECONDS(rng)
        kept.append(ev)
    return kept


_EFFECTS: dict[str, Callable[[list[dict], Random, float, float], list[dict]]] = {
    "checkout_outage": _checkout_outage,
    "chat_outage": _chat_outage,
}
INCIDENT_KINDS: frozenset[str] = frozenset(_EFFECTS)


@dataclass(frozen=True)
class Incident:
    """An outage active for event times ``start <= ts < end`` (epoch seconds)."""

    kind: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_KINDS:
            raise ValueError(f"unknown incident kind {self.kind!r}; expected one of {sorted(INCIDENT_KINDS)}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end < self.start:
            raise ValueError(f"incident needs finite start <= end, got {self.start!r}..{self.end!r}")


def generate_events(start: float, end: float, *, seed: int = 0, incidents: Sequence[Incident] = (),
                    rate_scale: float = 1.0) -> Iterator[dict]:
    """Schema v1 touchpoint events with ``start <= ts < end``, in ``ts`` order.

    Each absolute epoch minute draws from its own RNG seeded by ``(seed,
    minute)``, so output is deterministic and does not depend on how a range is
    split: generating ``[a, b)`` then ``[b, c)`` yields exactly ``[a, c)``.
    Event ids are ``"{seed}-{minute}-{index}"``, unique for a seed.
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
        events: list[dict] = []
        for stream, daily, weekend_factor, peak in plan:
            lam = peak * daily[tod] * (weekend_factor if weekend else 1.0)
            n = poisson(lam, rnd)
            if n:
                _emit(stream, n, t0, rng, events)
        # Effects draw from the RNG only after all base events, so events
        # outside an incident are identical to a run without it.
        for incident in incidents:
            if incident.start < t0 + 60.0 and incident.end > t0:
                events = _EFFECTS[incident.kind](events, rng, incident.start, incident.end)
        events.sort(key=_TS)
        # Ids are given before trimming to [start, end), so an event keeps its
        # id however the range is chunked.
        prefix = f"{seed}-{minute}-"
        for i, ev in enumerate(events):
            ev["event_id"] = prefix + str(i)
        if t0 < start or t0 + 60.0 > end:
            events = [ev for ev in events if start <= ev["ts"] < end]
        yield from events
        minute += 1


def _emit(stream: Stream, n: int, t0: float, rng: Random, out: list[dict]) -> None:
    # The hot loop: locals and lookup tables instead of attribute access and
    # random.choice, one uniform draw per field.
    rnd = rng.random
    channel, type_ = stream.channel, stream.type
    touchpoints, n_tp = stream.touchpoints, len(stream.touchpoints)
    segments, n_seg = stream.segments, len(stream.segments)
    survey, scores, n_sc = stream.survey, stream.scores, len(stream.scores)
    value, customer = stream.value, stream.customer
    for _ in range(n):
        # event_id is a placeholder here so it stays the first key.
        ev = {"event_id": "", "ts": t0 + rnd() * 60.0, "channel": channel, "type": type_}
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
