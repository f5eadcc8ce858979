"""Decode Kafka message values into touchpoint events (schema v1) and rejections.

This is a hand-written twin of ``config/schema/touchpoint-event.v1.json``: it runs
once per event in the hot path, so jsonschema is only used by the tests that keep
the two in agreement. Rejection details name the field and the rule but never
echo a value, because values (customer_id, attrs) may be personal data.
"""

from __future__ import annotations

import functools
import math
import re
import time
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

import orjson

from streams.events import TouchpointEvent

REASONS: frozenset[str] = frozenset({
    "empty", "too_large", "invalid_json", "not_an_object", "missing_field", "unknown_field",
    "wrong_type", "invalid_value", "non_finite", "out_of_range", "invalid_timestamp",
    "late",  # assigned downstream by the windowing stage, not here
    "channel_overflow",  # likewise: a new channel past the configured cap
    "invalid_internal",  # a message on kohta's own repartition topic it cannot read
    "processing_failed",  # a message whose processing raised (a bug): kept, not lost
})

MIN_TS = 946_684_800.0  # 2000-01-01T00:00:00Z
SURVEY_RANGES: dict[str, tuple[float, float]] = {
    "nps": (0.0, 10.0), "ces": (1.0, 7.0), "csat": (1.0, 5.0), "smiley": (1.0, 4.0),
}
FIELDS: frozenset[str] = frozenset(TouchpointEvent._fields)

_NAME = re.compile(r"[a-z0-9_]{1,64}").fullmatch


# TouchpointEvent(...) goes through a Python-level __new__; this builds the same
# tuple with one C call (all eleven fields, in TouchpointEvent._fields order).
_new_event = functools.partial(tuple.__new__, TouchpointEvent)
_MAX_FLOAT = 1.7976931348623157e308  # a float between -this and this is finite

# Channels, types and touchpoints repeat in every event: names that passed the
# pattern are remembered (by check_name), so validate_event tests the next one with
# one set lookup. Bounded, so that random names cannot grow it; past the bound they
# are matched each time.
_KNOWN_NAMES: set[str] = set()
_MAX_KNOWN_NAMES = 16_384

# Same pattern as the schema's: fromisoformat alone would also take ISO 8601 forms
# that are not RFC 3339 (week dates, basic format, no seconds, no offset).
_RFC3339 = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ]"
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
).fullmatch
_SURVEYS = ", ".join(sorted(SURVEY_RANGES))


class EventRejected(ValueError):
    """An object is not a valid v1 event; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Rejection(NamedTuple):
    reason: str
    detail: str
    index: int | None  # position in a batch envelope; None for a single-object message
    raw: bytes  # what goes to the dead-letter topic


class DecodedMessage(NamedTuple):
    events: list[TouchpointEvent]
    rejections: list[Rejection]


def _number(value: object, name: str, wrong_type: str = "") -> float:
    if value.__class__ is bool or not isinstance(value, (int, float)):
        raise EventRejected("wrong_type", wrong_type or f"{name} must be a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range; orjson never makes one
        number = math.inf
    if not math.isfinite(number):
        raise EventRejected("non_finite", f"{name} must be finite")
    return number


def check_name(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise EventRejected("wrong_type", f"{name} must be a string")
    if value not in _KNOWN_NAMES:
        if _NAME(value) is None:
            raise EventRejected("invalid_value", f"{name} must match ^[a-z0-9_]{{1,64}}$")
        if len(_KNOWN_NAMES) < _MAX_KNOWN_NAMES:
            _KNOWN_NAMES.add(value)
    return value


def check_text(value: object, name: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise EventRejected("wrong_type", f"{name} must be a string")
    if not 0 < len(value) <= max_len:
        raise EventRejected("invalid_value", f"{name} must be 1-{max_len} characters")
    return value


def parse_timestamp(value: object, now: float | None, max_future_seconds: float) -> float:
    if isinstance(value, str):
        if _RFC3339(value) is None:
            raise EventRejected("invalid_timestamp", "ts must be an RFC 3339 date-time with offset")
        try:
            # upper(): 3.11 refuses RFC 3339's lower-case t and z. The pattern requires
            # an offset, so the datetime is always aware and timestamp() means UTC.
            ts = datetime.fromisoformat(value.upper()).timestamp()
        except (ValueError, OverflowError):
            raise EventRejected("invalid_timestamp", "ts is not a valid calendar date-time") from None
    else:
        ts = _number(value, "ts", "ts must be an RFC 3339 string or epoch seconds")
    if ts < MIN_TS:
        raise EventRejected("invalid_timestamp", "ts is before 2000-01-01T00:00:00Z")
    if ts > (time.time() if now is None else now) + max_future_seconds:
        raise EventRejected("invalid_timestamp", "ts is more than max_future_seconds ahead of now")
    return ts


def _attrs(value: object) -> MappingProxyType:
    if not isinstance(value, dict):
        raise EventRejected("wrong_type", "attrs must be an object")
    if len(value) > 16:
        raise EventRejected("invalid_value", "attrs must have at most 16 entries")
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise EventRejected("invalid_value", "attrs keys must be 1-64 characters")
        if not isinstance(item, str):
            raise EventRejected("wrong_type", "attrs values must be strings")
        if len(item) > 256:
            raise EventRejected("invalid_value", "attrs values must be at most 256 characters")
    # A copy, so that the caller mutating its dict cannot change a frozen event.
    return MappingProxyType(dict(value))


def _survey_score(survey: object, score: object) -> float | None:
    if survey is not None:
        if not isinstance(survey, str):
            raise EventRejected("wrong_type", "survey must be a string")
        if survey not in SURVEY_RANGES:
            raise EventRejected("invalid_value", f"survey must be one of {_SURVEYS}")
    if score is None:
        if survey is not None:
            raise EventRejected("invalid_value", "survey requires score")
        return None
    number = _number(score, "score")
    if survey is None:
        raise EventRejected("invalid_value", "score requires survey")
    low, high = SURVEY_RANGES[survey]
    if not low <= number <= high:
        # survey is one of four known names here, so naming it leaks nothing.
        raise EventRejected("out_of_range", f"score out of range for survey {survey}")
    return number


def validate_event(
    obj: object, *, now: float | None = None, max_future_seconds: float = 86400.0
) -> TouchpointEvent:
    """Check one decoded JSON value against schema v1; raise ``EventRejected`` if invalid.

    Each field has a fast test for the common valid shape (a known name, an epoch
    float in range, a finite float) that costs no function call; anything else
    takes the full check, which accepts the remaining valid forms or says why not.
    """
    if obj.__class__ is not dict:
        if not isinstance(obj, dict):
            raise EventRejected("not_an_object", "event must be a JSON object")
    if not FIELDS.issuperset(obj):
        key = next(key for key in obj if key not in FIELDS)
        # Named only if identifier-like: an e-mail address used as a key must not reach logs.
        shown = repr(key) if isinstance(key, str) and _NAME(key) else "(name not shown)"
        raise EventRejected("unknown_field", f"unknown field {shown}")
    get = obj.get
    event_id, ts, channel, type_ = get("event_id"), get("ts"), get("channel"), get("type")
    if event_id is None or ts is None or channel is None or type_ is None:
        # JSON null counts as missing, as it does for the optional fields.
        missing = next(n for n in ("event_id", "ts", "channel", "type") if get(n) is None)
        raise EventRejected("missing_field", f"{missing} is required")
    if event_id.__class__ is not str or not 0 < len(event_id) <= 128:
        check_text(event_id, "event_id", 128)
    if now is None:
        now = time.time()
    if ts.__class__ is not float or not MIN_TS <= ts <= now + max_future_seconds:
        ts = parse_timestamp(ts, now, max_future_seconds)
    if channel.__class__ is not str or channel not in _KNOWN_NAMES:
        check_name(channel, "channel")
    if type_.__class__ is not str or type_ not in _KNOWN_NAMES:
        check_name(type_, "type")
    touchpoint, segment = get("touchpoint"), get("segment")
    if touchpoint is not None and (touchpoint.__class__ is not str or touchpoint not in _KNOWN_NAMES):
        check_name(touchpoint, "touchpoint")
    if segment is not None and (segment.__class__ is not str or segment not in _KNOWN_NAMES):
        check_name(segment, "segment")
    survey, score = get("survey"), get("score")
    if survey is not None or score is not None:
        score = _survey_score(survey, score)
    value = get("value")
    if value is not None and (value.__class__ is not float or not -_MAX_FLOAT <= value <= _MAX_FLOAT):
        value = _number(value, "value")
    customer_id = get("customer_id")
    if customer_id is not None and (customer_id.__class__ is not str or not 0 < len(customer_id) <= 128):
        check_text(customer_id, "customer_id", 128)
    attrs = get("attrs")
    if attrs is not None:
        attrs = _attrs(attrs)
    return _new_event((event_id, ts, channel, type_, touchpoint, segment, survey, score, value, customer_id, attrs))


def _whole(reason: str, detail: str, raw: bytes) -> DecodedMessage:
    return DecodedMessage([], [Rejection(reason, detail, None, raw)])


def decode_message(
    raw: bytes | None, *, now: float | None = None, max_message_bytes: int = 1_000_000,
    max_batch_events: int = 1000, max_future_seconds: float = 86400.0,
) -> DecodedMessage:
    """Decode one message value (an event or a JSON array of events); never raises on bad input."""
    if not raw:
        return _whole("empty", "message value is empty", b"")
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    if len(raw) > max_message_bytes:
        return _whole("too_large", f"message is larger than {max_message_bytes} bytes", raw)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson >= 3.11 refuses numbers like 1e999 instead of making them inf;
        # report them like an inf that got through.
        if "infinity" in str(exc):
            return _whole("non_finite", "a number is too large to be finite", raw)
        return _whole("invalid_json", f"message is not valid UTF-8 JSON (position {exc.pos})", raw)
    if now is None:
        now = time.time()
    if isinstance(doc, dict):  # the common case: one event per message
        try:
            event = validate_event(doc, now=now, max_future_seconds=max_future_seconds)
        except EventRejected as exc:
            return _whole(exc.reason, exc.detail, raw)
        return DecodedMessage([event], [])
    if not isinstance(doc, list):
        return _whole("not_an_object", "message must be a JSON object or an array of objects", raw)
    if not doc:
        return _whole("empty", "batch envelope is an empty array", raw)
    if len(doc) > max_batch_events:
        return _whole("too_large", f"batch has more than {max_batch_events} events", raw)

    events: list[TouchpointEvent] = []
    rejections: list[Rejection] = []
    for index, element in enumerate(doc):
        try:
            events.append(validate_event(element, now=now, max_future_seconds=max_future_seconds))
        except EventRejected as exc:
            try:
                element_raw = orjson.dumps(element)
            except orjson.JSONEncodeError:
                # Nested deeper than orjson writes (255): keep the whole message instead.
                element_raw = raw
            rejections.append(Rejection(exc.reason, exc.detail, index, element_raw))
    return DecodedMessage(events, rejections)
