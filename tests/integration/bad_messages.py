"""A seeded corpus of bad touchpoint messages, mixed with valid ones.

``build_corpus(seed, start)`` returns the same bytes for the same seed and start.
Every message carries what the worker must make of it, worked out from the schema
(README, ``config/schema/touchpoint-event.v1.json``) rather than by running the
validator: the rejections ``(reason, batch index)`` that must reach the dead-letter
topic, and the valid events that must be counted.

Classes of bad input: not JSON (garbage, truncation, bare ``NaN``/``Infinity``
tokens, invalid UTF-8, control characters, 10,000 nested arrays or objects, large
junk under the size limit), non-finite numbers (``1e999``, 400-digit integers),
wrong types, missing fields (absent or null), unknown fields, strings over their
limits, names breaking ``[a-z0-9_]{1,64}``, RFC 3339 nonsense, timestamps far in
the future or before 2000, survey scores out of range or without their survey,
empty values, tombstones, JSON that is not an object, batches over
``max_batch_events``, and batch envelopes mixing valid and invalid events.

Valid and invalid events alike carry the PII canaries ``PII_CUSTOMER`` (as
``customer_id``) and ``PII_ATTR`` (as an ``attrs`` value) wherever the field is not
the one under test, so that a leak of either into logs, metrics, alerts or
dead-letter headers can be searched for.

A few messages are larger than the worker's ``max_message_bytes`` (1 MB), two of
them 10 MB: their dead letters keep the first ``max_message_bytes`` bytes and say
how large the message was (``kohta-truncated-from``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson

PII_CUSTOMER = "CANARY-PII-7f3a"
PII_ATTR = "CANARY-PII-9b2c"
WINDOW = 60.0
MAX_BATCH_EVENTS = 1000  # the default of settings.max_batch_events
MAX_MESSAGE_BYTES = 1_000_000  # the default of settings.max_message_bytes
VALID_CHANNELS = ("chat", "webshop")
OUTAGE = range(19, 22)  # chat windows with no contacts: a drop alert
SCENARIO_WINDOWS = 26


@dataclass
class Sample:
    """One Kafka message and what the worker must make of it."""

    kind: str
    key: bytes | None
    value: bytes | None
    rejections: list[tuple[str, int | None]] = field(default_factory=list)
    valid: list[dict] = field(default_factory=list)
    # The bytes each rejection's dead letter must hold, in ``rejections`` order.
    dead_values: list[bytes] = field(default_factory=list)
    # For a message over max_message_bytes: its size (its dead letter holds its head).
    truncated_from: int | None = None


Bad = tuple[object, str]  # a JSON-able element and the reason it is rejected for


class Corpus:
    def __init__(self, seed: int, start: float, now: float) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.now = now
        self.samples: list[Sample] = []
        self._valid = self._valid_stream()
        self._last_valid: dict | None = None
        self._serial = 0

    # --- valid events ---------------------------------------------------------

    def _valid_stream(self) -> Iterator[dict]:
        """Chat contacts and webshop visits over SCENARIO_WINDOWS windows, in time order;
        chat is silent during OUTAGE."""
        rng = random.Random(self.rng.random())
        events = []
        for w in range(SCENARIO_WINDOWS):
            base = self.start + w * WINDOW
            chat = 0 if w in OUTAGE else rng.randint(16, 24)
            for i in range(chat):
                events.append(("chat", "contact", base + rng.random() * WINDOW, f"ok-c-{w}-{i}"))
            for i in range(8):
                events.append(("webshop", "visit", base + rng.random() * WINDOW, f"ok-w-{w}-{i}"))
        events.sort(key=lambda e: e[2])
        for channel, type_, ts, event_id in events:
            yield self._event(channel, type_, ts, event_id)
        # Far enough ahead to close every window above.
        for channel in VALID_CHANNELS:
            yield self._event(channel, "visit", self.start + (SCENARIO_WINDOWS + 3) * WINDOW, f"flush-{channel}")

    def _event(self, channel: str, type_: str, ts: float, event_id: str) -> dict:
        event: dict = {"event_id": event_id, "ts": round(ts, 3), "channel": channel, "type": type_,
                       "customer_id": PII_CUSTOMER, "attrs": {"note": PII_ATTR}}
        form = self.rng.random()
        if form < 0.15:  # RFC 3339 forms that are valid, odd as they look
            from datetime import datetime, timedelta, timezone

            zone = timezone(timedelta(hours=self.rng.choice((0, 2, -5))))
            text = datetime.fromtimestamp(ts, zone).isoformat(sep=self.rng.choice("Tt "))
            event["ts"] = text.replace("+00:00", self.rng.choice(("Z", "z", "+00:00")))
        elif form < 0.25 and channel == "chat":
            event.update(touchpoint="billing", segment="consumer", survey="nps", score=self.rng.randint(0, 10))
        elif form < 0.3:
            event["value"] = self.rng.choice((0, -0.0, 1e308, 12345678901234567890, 19.95))
        return event

    def take_valid(self) -> dict | None:
        event = next(self._valid, None)
        if event is not None:
            self._last_valid = event
        return event

    def template(self, channel: str | None = None) -> dict:
        """A valid-looking event, to be broken in exactly one way."""
        self._serial += 1
        ts = self._last_valid["ts"] if self._last_valid is not None else self.start
        if isinstance(ts, str):
            ts = self.start
        return {"event_id": f"bad-{self._serial}", "ts": ts, "channel": channel or self.rng.choice(VALID_CHANNELS),
                "type": "contact", "customer_id": PII_CUSTOMER, "attrs": {"note": PII_ATTR}}

    # --- bad elements (valid JSON objects or values, rejected one by one) -----

    def missing_field(self) -> Bad:
        event = self.template()
        name = self.rng.choice(("event_id", "ts", "channel", "type"))
        if self.rng.random() < 0.5:
            del event[name]
        else:
            event[name] = None  # null counts as missing
        return event, "missing_field"

    def wrong_type(self) -> Bad:
        event = self.template()
        rng = self.rng
        field_name, bad = rng.choice([
            ("event_id", 12345), ("event_id", ["e"]), ("event_id", True),
            ("ts", True), ("ts", [1_700_000_000]), ("ts", {"seconds": 1}),
            ("channel", 7), ("channel", {"name": "chat"}), ("type", False), ("type", 1.5),
            ("touchpoint", 3), ("segment", ["a"]), ("value", "12.5"), ("value", True), ("value", [1]),
            ("customer_id", 424242), ("customer_id", {"id": PII_CUSTOMER}),
            ("attrs", [PII_ATTR]), ("attrs", PII_ATTR), ("attrs", {"note": 5}), ("attrs", {"note": None}),
            ("attrs", {"deep": {"deeper": PII_ATTR}}),
            ("survey", 9),
        ])
        event[field_name] = bad
        if field_name == "survey":
            event["score"] = 5
        return event, "wrong_type"

    def wrong_type_score(self) -> Bad:
        event = self.template()
        event.update(survey="nps", score=self.rng.choice(("9", True, [9], {"v": 9})))
        return event, "wrong_type"

    def unknown_field(self) -> Bad:
        event = self.template()
        name = self.rng.choice(("surprise", "Email", "customer-email", "ts_ms", "e_mail@example.com", "",
                                "eventId", "CHANNEL", "x" * 300, PII_CUSTOMER))
        event[name] = self.rng.choice((True, PII_CUSTOMER, 1, None, [[[]]]))
        return event, "unknown_field"

    def invalid_value(self) -> Bad:
        event = self.template()
        rng = self.rng
        choice = rng.randrange(14)
        if choice == 0:
            event["event_id"] = ""
        elif choice == 1:
            event["event_id"] = "e" * rng.randint(129, 5000)
        elif choice == 2:
            event["channel"] = rng.choice(("Chat", "chat!", "chät", "", "c" * 65, "web shop", "chat\n"))
        elif choice == 3:
            event["type"] = rng.choice(("Contact", "con-tact", "", "t" * 65))
        elif choice == 4:
            event["touchpoint"] = rng.choice(("Billing", "", "b" * 65, "a/b"))
        elif choice == 5:
            event["segment"] = rng.choice(("VIP", "", "s" * 100))
        elif choice == 6:
            event["customer_id"] = ""
        elif choice == 7:
            event["customer_id"] = PII_CUSTOMER * rng.randint(9, 2000)  # over 128 characters
        elif choice == 8:
            event["attrs"] = {f"k{i}": PII_ATTR for i in range(rng.randint(17, 200))}
        elif choice == 9:
            event["attrs"] = {"note": PII_ATTR * rng.randint(17, 5000)}  # over 256 characters
        elif choice == 10:
            event["attrs"] = {rng.choice(("", "k" * 65)): PII_ATTR}
        elif choice == 11:
            event.update(survey=rng.choice(("NPS", "stars", "", "csat ")), score=3)
        elif choice == 12:
            event["survey"] = rng.choice(("nps", "ces", "csat", "smiley"))  # without a score
        else:
            event["score"] = 3  # a score without a survey
        return event, "invalid_value"

    def out_of_range(self) -> Bad:
        event = self.template()
        survey, score = self.rng.choice([
            ("nps", 11), ("nps", -1), ("nps", 10.5), ("ces", 0), ("ces", 8), ("csat", 0.99), ("csat", 6),
            ("smiley", 0), ("smiley", 5), ("nps", 1e300), ("ces", -1e300),
        ])
        event.update(survey=survey, score=score)
        return event, "out_of_range"

    def invalid_timestamp(self) -> Bad:
        event = self.template()
        rng = self.rng
        event["ts"] = rng.choice([
            # RFC 3339 nonsense
            "2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T10:60:00Z",
            "2026-11-23T23:59:60Z", "2026-11-23T10:00:00", "2026-11-23 10:00", "2026-11-23", "10:00:00Z",
            "2026-W47-1T10:00:00Z", "20261123T100000Z", "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00 Z",
            "yesterday", "now", "", " 2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z\n", "1700000000",
            "0000-01-01T00:00:00Z", "2026-11-23T10:00:00.Z", "２０２６-11-23T10:00:00Z",
            # before 2000
            "1999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", 0, -1, 946_684_799.5, 1e-300, -1e300,
            # far in the future (now + 301 s is already too far)
            "9999-12-31T23:59:59Z", "2999-01-01T00:00:00+00:00", self.now + 301 + rng.random() * 1e6,
            4_102_444_800, 1e300, 12345678901234567890,
        ])
        return event, "invalid_timestamp"

    def not_an_object_element(self) -> Bad:
        return self.rng.choice((42, "event", None, True, [], [self.template()], 1.5)), "not_an_object"

    BAD_ELEMENTS = ("missing_field", "wrong_type", "wrong_type_score", "unknown_field", "invalid_value",
                    "out_of_range", "invalid_timestamp")

    def any_bad_element(self, in_batch: bool) -> Bad:
        names = self.BAD_ELEMENTS + (("not_an_object_element",) if in_batch else ())
        return getattr(self, self.rng.choice(names))()

    # --- whole messages --------------------------------------------------------

    def add(self, kind: str, key: bytes | None, value: bytes | None, rejections: list[tuple[str, int | None]],
            valid: list[dict] | None = None, dead_values: list[bytes] | None = None) -> None:
        self.samples.append(Sample(kind, key, value, rejections, valid or [], dead_values or []))

    def key(self) -> bytes | None:
        return self.rng.choice((b"chat", b"webshop", b"phone", None, b"", b"\xff\xfe-key"))

    def one_bad_event(self) -> None:
        element, reason = self.any_bad_element(in_batch=False)
        value = orjson.dumps(element)
        self.add(reason, self.key(), value, [(reason, None)], dead_values=[value])

    def scalar_message(self) -> None:
        value = self.rng.choice((b'"event"', b"42", b"true", b"null", b"-0.5", b'"' + PII_CUSTOMER.encode() + b'"'))
        self.add("not_an_object", self.key(), value, [("not_an_object", None)], dead_values=[value])

    def not_json(self) -> None:
        rng = self.rng
        good = orjson.dumps(self.template())
        kind = rng.randrange(12)
        if kind == 0:
            value = good[: rng.randrange(1, len(good) - 1)]  # truncated
        elif kind == 1:
            value = bytes(rng.randrange(256) for _ in range(rng.randint(1, 400)))
            if value[:1] in (b"[", b"{", b'"') or value.strip(b" \t\r\n") == b"":
                value = b"\x00" + value
        elif kind == 2:
            field_name = rng.choice((b"ts", b"value", b"score"))
            token = rng.choice((b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf", b"+1", b".5", b"01", b"0x10"))
            value = good[:-1] + b',"' + field_name + b'":' + token + b"}"
        elif kind == 3:
            value = good.replace(b'"', b"'")
        elif kind == 4:
            value = good[:-1] + b",}"
        elif kind == 5:
            value = b"\xef\xbb\xbf" + good  # a UTF-8 byte order mark
        elif kind == 6:
            value = good.replace(PII_CUSTOMER.encode(), b"CANARY-PII-7f3a\xff\xfe")  # invalid UTF-8
        elif kind == 7:
            value = good.replace(PII_CUSTOMER.encode(), b"CANARY-PII-7f3a\\ud800")  # a lone surrogate
        elif kind == 8:
            value = good.replace(PII_CUSTOMER.encode(), b"CANARY-PII-7f3a\x01")  # a raw control character
        elif kind == 9:
            depth = rng.choice((1025, 10_000, 50_000))
            value = b"[" * depth + b"]" * depth
        elif kind == 10:
            depth = rng.choice((1025, 10_000))
            value = b'{"a":' * depth + b"1" + b"}" * depth
        else:
            value = good + good  # two documents
        self.add("invalid_json", self.key(), value, [("invalid_json", None)], dead_values=[value])

    def large_junk(self) -> None:
        """Invalid JSON of 100-900 kB: under max_message_bytes, so it is decoded and
        dead-lettered whole. (Past about 999,700 bytes the dead letter itself is too
        large for the worker's producer; see test_bad_input.)"""
        size = self.rng.randint(100_000, 900_000)
        value = b'{"event_id":"big","customer_id":"' + PII_CUSTOMER.encode() * (size // len(PII_CUSTOMER))
        self.add("invalid_json", self.key(), value, [("invalid_json", None)], dead_values=[value])

    def oversized(self, size: int) -> None:
        """Over max_message_bytes: rejected whole before it is parsed."""
        head = orjson.dumps(self.template())[:-1] + b',"attrs":{"note":"'
        value = head + PII_ATTR.encode() * ((size - len(head)) // len(PII_ATTR) + 1)
        value = value[:size]
        self.add("too_large", self.key(), value, [("too_large", None)], dead_values=[value[:MAX_MESSAGE_BYTES]])
        self.samples[-1].truncated_from = size

    def non_finite(self) -> None:
        rng = self.rng
        event = self.template()
        token = rng.choice((b"1e999", b"-1e999", b"1E400", b"9" * 400, b"-" + b"9" * 320, b"1.5e309"))
        field_name = rng.choice(("ts", "value", "score"))
        if field_name == "score":
            event["survey"] = "nps"
        event[field_name] = "__NUM__"
        doc: object = event
        if rng.random() < 0.3:  # inside a batch: the whole message fails to decode
            doc = [self.template(), event]
        value = orjson.dumps(doc).replace(b'"__NUM__"', token)
        self.add("non_finite", self.key(), value, [("non_finite", None)], dead_values=[value])

    def empty(self) -> None:
        value = self.rng.choice((b"", None, b"[]"))
        # A tombstone (no value; it needs a key) is dead-lettered with an empty value.
        key = self.key() if value is not None else self.rng.choice((b"chat", b"tombstone"))
        self.add("empty", key, value, [("empty", None)], dead_values=[value or b""])

    def too_many_events(self) -> None:
        template = self.template()
        value = orjson.dumps([{**template, "event_id": f"many-{i}"} for i in range(MAX_BATCH_EVENTS + 1)])
        self.add("too_large", self.key(), value, [("too_large", None)], dead_values=[value])

    def mixed_batch(self) -> None:
        """2-12 elements, valid ones (one channel, the message's key) among bad ones."""
        rng = self.rng
        channel = rng.choice(VALID_CHANNELS)
        parts: list[bytes] = []
        rejections: list[tuple[str, int | None]] = []
        dead_values: list[bytes | None] = []
        valid: list[dict] = []
        for index in range(rng.randint(2, 12)):
            if rng.random() < 0.5:
                event = self._valid_for(channel)
                if event is not None:
                    parts.append(orjson.dumps(event))
                    valid.append(event)
                    continue
            rejections_before = len(rejections)
            if rng.random() < 0.05:
                # Deeper than orjson writes back (255 levels): its dead letter is the whole message.
                depth = rng.randint(256, 900)
                parts.append(b"[" * depth + b"]" * depth)
                rejections.append(("not_an_object", index))
                dead_values.append(None)
            else:
                element, reason = self.any_bad_element(in_batch=True)
                parts.append(orjson.dumps(element))
                rejections.append((reason, index))
                dead_values.append(parts[-1])
            assert len(rejections) == rejections_before + 1
        value = b"[" + b",".join(parts) + b"]"
        self.add("batch", channel.encode(), value, rejections, valid,
                 [value if d is None else d for d in dead_values])

    def _valid_for(self, channel: str) -> dict | None:
        """The next valid event if it is ``channel``'s; otherwise it is sent on its own first."""
        event = self.take_valid()
        while event is not None and event["channel"] != channel:
            self.valid_single(event)
            event = self.take_valid()
        return event

    def valid_single(self, event: dict | None = None) -> None:
        event = event if event is not None else self.take_valid()
        if event is not None:
            self.add("valid", event["channel"].encode(), orjson.dumps(event), [], [event])

    # --- the corpus ------------------------------------------------------------

    def build(self, bad_messages: int) -> list[Sample]:
        makers: list[tuple[float, Callable[[], None]]] = [
            (0.30, self.one_bad_event), (0.14, self.not_json), (0.06, self.non_finite),
            (0.04, self.scalar_message), (0.03, self.empty), (0.005, self.too_many_events),
            (0.005, self.large_junk), (0.42, self.mixed_batch),
        ]
        weights = [w for w, _ in makers]
        while sum(1 for s in self.samples if s.rejections) < bad_messages:
            if self.rng.random() < 0.35:
                self.valid_single()
            else:
                self.rng.choices(makers, weights)[0][1]()
        # The rest of the valid stream.
        for event in iter(self.take_valid, None):
            self.valid_single(event)
        # Over the size limit, at fixed places: two just over, two of 10 MB.
        for size in (MAX_MESSAGE_BYTES + 1, 1_300_000, 10_000_000, 10_000_000):
            at = self.rng.randrange(len(self.samples))
            self.oversized(size)
            self.samples.insert(at, self.samples.pop())
        return self.samples


def build_corpus(seed: int, start: float, now: float, bad_messages: int = 1200) -> list[Sample]:
    """``bad_messages`` messages with at least one rejection, and the valid stream among them."""
    return Corpus(seed, start, now).build(bad_messages)


def expected_reasons(samples: list[Sample]) -> Counter[str]:
    return Counter(reason for sample in samples for reason, _ in sample.rejections)


def valid_events(samples: list[Sample]) -> list[dict]:
    return [event for sample in samples for event in sample.valid]
