"""What each channel emits: event types, peak rates and field distributions.

Rates are events per minute at the weekday daily peak with ``rate_scale=1``.
Weighted fields are lookup tables (see :func:`sampling.table`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from .sampling import table


@dataclass(frozen=True)
class Channel:
    profile: str  # key of rhythm.DAILY
    # Weekend multiplier: shops get busier, service desks and billing quieter.
    weekend: float


@dataclass(frozen=True)
class Stream:
    """One Poisson process: a (channel, type) pair and how to fill its fields."""

    channel: str
    type: str
    peak_per_minute: float
    touchpoints: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    survey: str | None = None
    scores: tuple[int, ...] = ()
    value: Callable[[Random], float] | None = None
    customer: bool = True


def _lognormal(median: float, sigma: float, digits: int) -> Callable[[Random], float]:
    mu = math.log(median)
    return lambda rng: round(rng.lognormvariate(mu, sigma), digits)


ORDER_VALUE = _lognormal(60.0, 0.6, 2)
HANDLE_TIME_SECONDS = _lognormal(300.0, 0.5, 1)
INVOICE_AMOUNT = _lognormal(45.0, 0.5, 2)

CHANNELS: dict[str, Channel] = {
    "web": Channel("shopping", 0.85),
    "webshop": Channel("shopping", 1.2),
    "mobile_app": Channel("shopping", 1.15),
    "chat": Channel("office", 0.6),
    "phone": Channel("office", 0.55),
    "email": Channel("office", 0.6),
    "store": Channel("shopping", 1.1),
    "invoicing": Channel("office", 0.3),
    "delivery": Channel("office", 0.75),
}

_SEGMENTS = table({"consumer": 80, "business": 20})
_TOPICS = table({"billing": 35, "delivery": 35, "support": 30})
_SHOP_PAGES = table({"home": 45, "product": 40, "checkout": 15})
_APP_SCREENS = table({"home": 40, "product": 35, "checkout": 15, "account": 10})
_DELIVERY_MODES = table({"home_delivery": 50, "pickup_point": 35, "parcel_locker": 15})
# Score mixes as seen in real programmes: NPS about 50 % promoters (9-10),
# 30 % passives (7-8), 20 % detractors; smileys and CES lean positive.
_NPS = table({10: 30, 9: 20, 8: 18, 7: 12, 6: 6, 5: 5, 4: 3, 3: 2, 2: 2, 1: 1, 0: 1})
_CES = table({7: 25, 6: 30, 5: 20, 4: 10, 3: 7, 2: 5, 1: 3})
_SMILEY = table({4: 45, 3: 35, 2: 13, 1: 7})

CHECKOUT = ("checkout",)

STREAMS: tuple[Stream, ...] = (
    Stream("webshop", "visit", 300.0, _SHOP_PAGES),
    Stream("webshop", "conversion", 300.0 * 0.07, CHECKOUT, value=ORDER_VALUE),
    Stream("webshop", "cart_abandon", 300.0 * 0.20, CHECKOUT),
    Stream("web", "visit", 150.0, table({"home": 50, "support": 30, "account": 20})),
    Stream("mobile_app", "visit", 200.0, _APP_SCREENS),
    Stream("mobile_app", "conversion", 200.0 * 0.05, CHECKOUT, value=ORDER_VALUE),
    Stream("chat", "contact", 40.0, _TOPICS, _SEGMENTS),
    Stream("phone", "contact", 60.0, _TOPICS, _SEGMENTS, value=HANDLE_TIME_SECONDS),
    Stream("email", "contact", 20.0, _TOPICS, _SEGMENTS),
    Stream("email", "survey", 5.0, segments=_SEGMENTS, survey="nps", scores=_NPS),
    # Store smiley terminals are anonymous kiosks: no customer id.
    Stream("store", "survey", 30.0, table({"north": 30, "south": 30, "east": 20, "west": 20}),
           survey="smiley", scores=_SMILEY, customer=False),
    Stream("invoicing", "invoice", 50.0, table({"e_invoice": 60, "email": 30, "paper": 10}),
           _SEGMENTS, value=INVOICE_AMOUNT),
    Stream("invoicing", "complaint", 50.0 * 0.01, ("billing",), _SEGMENTS),
    Stream("delivery", "delivery", 80.0, _DELIVERY_MODES),
    Stream("delivery", "cancellation", 80.0 * 0.02, _DELIVERY_MODES),
    Stream("delivery", "survey", 5.0, _DELIVERY_MODES, survey="ces", scores=_CES),
)
