"""Incident kinds: how each one distorts a minute of generated events.

An effect gets one minute's events, that minute's RNG, the incident and the
minute's start, and returns the distorted list. Effects only change, drop or add
events with ``incident.start <= ts < incident.end``, so the traffic outside an
incident is exactly what a run without it produces. Added events carry an empty
``event_id``; the generator numbers them after the minute's base events.

:data:`KINDS` also says which (channels, metrics) each kind disturbs, which is
what scenario labels tell a detector it should alert on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from random import Random

from .catalog import HANDLE_TIME_SECONDS, ORDER_VALUE
from .sampling import table

# Share of webshop conversions that still succeed during a checkout outage.
CHECKOUT_SURVIVAL = 0.03
# Share of would-be chat contacts that pick up the phone instead when chat is down.
CHAT_TO_PHONE = 0.7
# Share of invoices that draw a complaint from a broken billing run (normally 1 %).
INVOICE_COMPLAINT_RATE = 0.12
# Extra billing calls per regular phone contact while invoices are wrong.
BILLING_CALLS = 0.6
# Extra cancellations per delivery when deliveries go wrong (normally 2 %).
DELIVERY_CANCEL_RATE = 0.08
# Extra "where is my parcel" contacts per regular phone or chat contact.
DELIVERY_CONTACTS = 0.5
# Share of a region's smiley answers that turn sad (1-2) in a store incident.
SMILEY_TURNED_SAD = 0.45
# Share of NPS answers replaced by detractors at the very end of a drift; NPS is
# %promoters - %detractors (about 50 - 20 here), so q costs 130 * q points.
NPS_DRIFT_DETRACTORS = 0.30 / 1.30
# Campaign traffic multiplier; the visitors it brings convert a bit less.
CAMPAIGN_FACTOR = 3.0
CAMPAIGN_CONVERSION_FACTOR = 2.6
# Shares of web traffic that still gets through when login fails.
LOGIN_VISITS_KEPT = 0.2
LOGIN_CONVERSIONS_KEPT = 0.05

STORE_REGIONS = ("north", "south", "east", "west")
WEB_CHANNELS = ("web", "webshop", "mobile_app")
# Frustrated delivery customers score low, but not all of them the lowest.
_BAD_CES = table({1: 25, 2: 30, 3: 20, 4: 12, 5: 8, 6: 3, 7: 2})
_SAD = table({1: 60, 2: 40})
_DETRACTOR = table({6: 30, 5: 25, 4: 15, 3: 10, 2: 10, 1: 5, 0: 5})

Effect = Callable[[list[dict], Random, "Incident", float], list[dict]]


def _customer(rnd: Callable[[], float]) -> str:
    return f"c{100000 + int(rnd() * 900000)}"


def _extra(rnd: Callable[[], float], mean: float) -> int:
    """How many events to add for one source event, ``mean`` on average."""
    whole = int(mean)
    return whole + (rnd() < mean - whole)


def _when(rnd: Callable[[], float], inc: Incident, t0: float) -> float:
    lo, hi = max(inc.start, t0), min(inc.end, t0 + 60.0)
    return lo + rnd() * (hi - lo)


def _contact(channel: str, touchpoint: str, source: dict, rng: Random, ts: float) -> dict:
    ev = {"event_id": "", "ts": ts, "channel": channel, "type": "contact", "touchpoint": touchpoint}
    if "segment" in source:
        ev["segment"] = source["segment"]
    if channel == "phone":
        ev["value"] = HANDLE_TIME_SECONDS(rng)
    ev["customer_id"] = _customer(rng.random)
    return ev


def _checkout_outage(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    # A failed payment leaves the cart behind, so lost conversions reappear as
    # abandons: visits stay flat, conversions collapse, abandons rise.
    rnd, start, end = rng.random, inc.start, inc.end
    for ev in events:
        if (ev["type"] == "conversion" and ev["channel"] == "webshop"
                and start <= ev["ts"] < end and rnd() >= CHECKOUT_SURVIVAL):
            ev["type"] = "cart_abandon"
            del ev["value"]
    return events


def _chat_outage(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    # The same customers with the same question, now queuing on the phone.
    rnd, start, end = rng.random, inc.start, inc.end
    kept = []
    for ev in events:
        if ev["channel"] == "chat" and start <= ev["ts"] < end:
            if rnd() >= CHAT_TO_PHONE:
                continue
            ev["channel"] = "phone"
            ev["value"] = HANDLE_TIME_SECONDS(rng)
        kept.append(ev)
    return kept


def _invoicing_error(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    # The customers who got a wrong invoice complain and call about billing.
    rnd, start, end = rng.random, inc.start, inc.end
    added = []
    for ev in events:
        if not start <= ev["ts"] < end:
            continue
        if ev["channel"] == "invoicing" and ev["type"] == "invoice" and rnd() < INVOICE_COMPLAINT_RATE:
            added.append({"event_id": "", "ts": _when(rnd, inc, t0), "channel": "invoicing",
                          "type": "complaint", "touchpoint": "billing", "segment": ev["segment"],
                          "customer_id": ev["customer_id"]})
        elif ev["channel"] == "phone" and ev["type"] == "contact" and rnd() < BILLING_CALLS:
            added.append(_contact("phone", "billing", ev, rng, _when(rnd, inc, t0)))
    events.extend(added)
    return events


def _delivery_problems(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    rnd, start, end = rng.random, inc.start, inc.end
    added = []
    for ev in events:
        if not start <= ev["ts"] < end:
            continue
        channel, type_ = ev["channel"], ev["type"]
        if channel == "delivery":
            if type_ == "survey":
                ev["score"] = _BAD_CES[int(rnd() * len(_BAD_CES))]
            elif type_ == "delivery" and rnd() < DELIVERY_CANCEL_RATE:
                added.append({"event_id": "", "ts": _when(rnd, inc, t0), "channel": "delivery",
                              "type": "cancellation", "touchpoint": ev["touchpoint"],
                              "customer_id": ev["customer_id"]})
        elif channel in ("phone", "chat") and type_ == "contact" and rnd() < DELIVERY_CONTACTS:
            added.append(_contact(channel, "delivery", ev, rng, _when(rnd, inc, t0)))
    events.extend(added)
    return events


def _store_smiley_drop(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    rnd, start, end = rng.random, inc.start, inc.end
    region = inc.param("region")
    for ev in events:
        if (ev["channel"] == "store" and ev.get("touchpoint") == region and "score" in ev
                and start <= ev["ts"] < end and rnd() < SMILEY_TURNED_SAD):
            ev["score"] = _SAD[int(rnd() * len(_SAD))]
    return events


def _nps_drift(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    # Linear in time: more detractors the longer the cause goes unnoticed.
    rnd, start, end = rng.random, inc.start, inc.end
    span = max(end - start, 1e-9)
    for ev in events:
        if ev["channel"] == "email" and ev.get("survey") == "nps" and start <= ev["ts"] < end:
            if rnd() < NPS_DRIFT_DETRACTORS * (ev["ts"] - start) / span:
                ev["score"] = _DETRACTOR[int(rnd() * len(_DETRACTOR))]
    return events


def _campaign_spike(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    rnd, start, end = rng.random, inc.start, inc.end
    extra = {"visit": CAMPAIGN_FACTOR - 1.0, "cart_abandon": CAMPAIGN_FACTOR - 1.0,
             "conversion": CAMPAIGN_CONVERSION_FACTOR - 1.0}
    added = []
    for ev in events:
        mean = extra.get(ev["type"])
        if mean is None or ev["channel"] not in WEB_CHANNELS or not start <= ev["ts"] < end:
            continue
        for _ in range(_extra(rnd, mean)):
            copy = dict(ev, event_id="", ts=_when(rnd, inc, t0), customer_id=_customer(rnd))
            if "value" in copy:
                copy["value"] = ORDER_VALUE(rng)
            added.append(copy)
    events.extend(added)
    return events


def _login_failure(events: list[dict], rng: Random, inc: Incident, t0: float) -> list[dict]:
    # Browsing mostly needs a session too; buying always does.
    rnd, start, end = rng.random, inc.start, inc.end
    kept = []
    for ev in events:
        if ev["channel"] in WEB_CHANNELS and start <= ev["ts"] < end:
            keep = LOGIN_CONVERSIONS_KEPT if ev["type"] == "conversion" else LOGIN_VISITS_KEPT
            if rnd() >= keep:
                continue
        kept.append(ev)
    return kept


@dataclass(frozen=True)
class Kind:
    effect: Effect
    channels: tuple[str, ...]  # the series a good detector should alert on:
    metrics: tuple[str, ...]   # channels x metrics
    abrupt: bool = True
    params: Mapping[str, tuple] = field(default_factory=dict)  # name -> allowed values; first is default


KINDS: dict[str, Kind] = {
    "checkout_outage": Kind(_checkout_outage, ("webshop",), ("conversion_rate", "cart_abandon_rate")),
    "chat_outage": Kind(_chat_outage, ("chat", "phone"), ("contact_volume",)),
    "invoicing_error": Kind(_invoicing_error, ("invoicing", "phone"),
                            ("complaints_per_invoice", "complaint_volume", "contact_volume")),
    "delivery_problems": Kind(_delivery_problems, ("delivery", "phone", "chat"),
                              ("ces", "cancellation_rate", "contact_volume")),
    "store_smiley_drop": Kind(_store_smiley_drop, ("store",), ("smiley_score", "sad_smiley_share"),
                              params={"region": STORE_REGIONS}),
    "nps_drift": Kind(_nps_drift, ("email",), ("nps",), abrupt=False),
    "campaign_spike": Kind(_campaign_spike, WEB_CHANNELS, ("visits",)),
    "login_failure": Kind(_login_failure, WEB_CHANNELS, ("visits", "conversion_rate")),
}
INCIDENT_KINDS: frozenset[str] = frozenset(KINDS)


@dataclass(frozen=True)
class Incident:
    """An incident active for event times ``start <= ts < end`` (epoch seconds).

    ``params`` tunes a kind, e.g. ``{"region": "north"}`` for ``store_smiley_drop``.
    """

    kind: str
    start: float
    end: float
    params: Mapping[str, object] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_KINDS:
            raise ValueError(f"unknown incident kind {self.kind!r}; expected one of {sorted(INCIDENT_KINDS)}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end < self.start:
            raise ValueError(f"incident needs finite start <= end, got {self.start!r}..{self.end!r}")
        allowed = KINDS[self.kind].params
        for name, value in (self.params or {}).items():
            if name not in allowed:
                raise ValueError(f"{self.kind} takes no parameter {name!r}; it takes {sorted(allowed)}")
            if value not in allowed[name]:
                raise ValueError(f"{self.kind} {name} must be one of {list(allowed[name])}, got {value!r}")

    def param(self, name: str) -> object:
        value = (self.params or {}).get(name)
        return KINDS[self.kind].params[name][0] if value is None else value

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]
