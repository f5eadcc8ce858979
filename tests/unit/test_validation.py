"""Touchpoint event contract v1: the validator, and its agreement with the JSON Schema."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.events import TouchpointEvent
from streams.validation import (
    FIELDS, REASONS, SURVEY_RANGES, DecodedMessage, EventRejected, Rejection, decode_message,
    validate_event,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config/schema/touchpoint-event.v1.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())
SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc).timestamp()
TS_10Z = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc).timestamp()
MINIMAL = {"event_id": "e-1", "ts": "2026-11-23T10:00:00Z", "channel": "web", "type": "page_view"}
FULL = {
    **MINIMAL, "touchpoint": "checkout", "segment": "b2c", "survey": "nps", "score": 9, "value": 12.5,
    "customer_id": "cust-42", "attrs": {"browser": "firefox", "lang": "fi"},
}


def ev(**changes: object) -> dict:
    """MINIMAL with some fields changed; a value of ... removes the field."""
    return {k: v for k, v in {**MINIMAL, **changes}.items() if v is not ...}


def decode(obj: object) -> DecodedMessage:
    return decode_message(orjson.dumps(obj), now=NOW)


def accepts(obj: object) -> bool:
    try:
        validate_event(obj, now=NOW)
    except EventRejected:
        return False
    return True


# --- valid events ---------------------------------------------------------------


def test_minimal_event() -> None:
    assert decode(MINIMAL) == ([TouchpointEvent("e-1", TS_10Z, "web", "page_view")], [])


def test_full_event() -> None:
    (event,) = decode(FULL).events
    assert (event.touchpoint, event.segment, event.survey, event.value) == ("checkout", "b2c", "nps", 12.5)
    assert event.score == 9.0 and isinstance(event.score, float)
    assert event.customer_id == "cust-42"
    assert event.attrs == {"browser": "firefox", "lang": "fi"}


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1795428000, 1795428000.0),
        (1795428000.25, 1795428000.25),
        ("2026-11-23T10:00:00Z", TS_10Z),
        ("2026-11-23T12:00:00.250+02:00", TS_10Z + 0.25),
        ("2026-11-23T05:30:00-04:30", TS_10Z),
        ("2026-11-23 10:00:00+00:00", TS_10Z),
        ("2026-11-23t10:00:00z", TS_10Z),
        ("2026-11-23T10:00:00.123456789Z", TS_10Z + 0.123456),
    ],
)
def test_timestamps(ts: object, expected: float) -> None:
    event = validate_event(ev(ts=ts), now=NOW)
    assert isinstance(event.ts, float)
    assert event.ts == pytest.approx(expected, abs=1e-6)


def test_null_optional_fields_are_absent() -> None:
    nulls = {name: None for name in FIELDS - set(MINIMAL)}
    assert validate_event({**MINIMAL, **nulls}, now=NOW) == validate_event(MINIMAL, now=NOW)


def test_survey_range_bounds_are_inclusive() -> None:
    for survey, (low, high) in SURVEY_RANGES.items():
        for score in (low, high):
            assert validate_event(ev(survey=survey, score=score), now=NOW).score == score


def test_to_json_dict_round_trips() -> None:
    event = validate_event(FULL, now=NOW)
    data = event.to_json_dict()
    assert data["ts"] == TS_10Z and data["attrs"] == FULL["attrs"]
    assert "touchpoint" not in validate_event(MINIMAL, now=NOW).to_json_dict()
    assert validate_event(orjson.loads(orjson.dumps(data)), now=NOW) == event


def test_event_is_immutable_and_hashable() -> None:
    source = {**FULL, "attrs": {"k": "v"}}
    event = validate_event(source, now=NOW)
    source["attrs"]["k"] = "changed"
    assert event.attrs == {"k": "v"}
    with pytest.raises(TypeError):
        event.attrs["k"] = "x"  # type: ignore[index]
    with pytest.raises(AttributeError):
        event.channel = "x"  # type: ignore[misc]
    assert "CANARY" not in repr(validate_event({**FULL, "customer_id": "CANARY-1"}, now=NOW))
    assert hash(event) == hash(validate_event(FULL, now=NOW))


def test_field_lists_agree() -> None:
    assert FIELDS == set(TouchpointEvent._fields) == set(SCHEMA["properties"])


def test_accepts_bytes_like_values() -> None:
    raw = orjson.dumps(MINIMAL)
    expected = decode(MINIMAL)
    assert decode_message(bytearray(raw), now=NOW) == decode_message(memoryview(raw), now=NOW) == expected


# --- rejections -------------------------------------------------------------------

DEEP = b"[" * 2000 + b"]" * 2000
# (message value, or an object to encode; reason). Each is a single-object or whole-message failure.
REJECTED = [
    (None, "empty"), (b"", "empty"), (b"[]", "empty"),
    (b"x" * 5001, "too_large"),  # not JSON either: the size is checked before parsing
    ([MINIMAL] * 6, "too_large"),
    (b"{not json", "invalid_json"), (b'{"event_id": "\xff"}', "invalid_json"), (b"   ", "invalid_json"),
    (b'{"value": NaN}', "invalid_json"), (DEEP, "invalid_json"),
    (b'"just a string"', "not_an_object"), (b"null", "not_an_object"), (b"17", "not_an_object"),
    (ev(channel=...), "missing_field"), (ev(event_id=None), "missing_field"),
    (ev(colour="red"), "unknown_field"),
    (ev(event_id=7), "wrong_type"), (ev(ts=True), "wrong_type"), (ev(ts=[2026]), "wrong_type"),
    (ev(value="3"), "wrong_type"), (ev(survey="nps", score=False), "wrong_type"),
    (ev(attrs=["a"]), "wrong_type"), (ev(attrs={"k": 1}), "wrong_type"),
    (ev(channel="Web"), "invalid_value"), (ev(channel="web\n"), "invalid_value"),
    (ev(type="x" * 65), "invalid_value"), (ev(event_id=""), "invalid_value"),
    (ev(customer_id="c" * 129), "invalid_value"), (ev(survey="thumbs", score=1), "invalid_value"),
    (ev(score=5), "invalid_value"), (ev(survey="nps"), "invalid_value"),
    (ev(attrs={f"k{i}": "v" for i in range(17)}), "invalid_value"), (ev(attrs={"": "v"}), "invalid_value"),
    (ev(attrs={"k": "v" * 257}), "invalid_value"),
    (b'{"event_id":"e","ts":1795428000,"channel":"web","type":"t","value":1e999}', "non_finite"),
    (ev(survey="nps", score=11), "out_of_range"), (ev(survey="ces", score=0), "out_of_range"),
    (ev(survey="csat", score=5.5), "out_of_range"), (ev(survey="smiley", score=5), "out_of_range"),
    (ev(ts="2026-11-23T10:00:00"), "invalid_timestamp"),  # no offset
    (ev(ts="2026-11-23"), "invalid_timestamp"), (ev(ts="2026-11-23T10:00Z"), "invalid_timestamp"),
    (ev(ts="20261123T100000Z"), "invalid_timestamp"), (ev(ts="2026-W47-1T10:00:00Z"), "invalid_timestamp"),
    (ev(ts="2026-02-30T10:00:00Z"), "invalid_timestamp"),
    (ev(ts="2026-11-23T23:59:60Z"), "invalid_timestamp"),  # leap seconds: datetime has none
    (ev(ts="2026-11-23T10:00:00+0200"), "invalid_timestamp"), (ev(ts="yesterday"), "invalid_timestamp"),
    (ev(ts="1999-12-31T23:59:59Z"), "invalid_timestamp"), (ev(ts=946684799), "invalid_timestamp"),
    (ev(ts=NOW + 86401), "invalid_timestamp"), (ev(ts=NOW * 1000), "invalid_timestamp"),  # ms by mistake
]


@pytest.mark.parametrize(("message", "reason"), REJECTED)
def test_rejected_message(message: object, reason: str) -> None:
    raw = message if message is None or isinstance(message, bytes) else orjson.dumps(message)
    result = decode_message(raw, now=NOW, max_message_bytes=5000, max_batch_events=5)
    assert result.events == []
    assert result.rejections == [Rejection(reason, result.rejections[0].detail, None, raw or b"")]


def test_every_reason_is_tested() -> None:
    # late, channel_overflow and invalid_internal are decided downstream, not by the validator.
    assert {reason for _, reason in REJECTED} | {"late", "channel_overflow", "invalid_internal", "processing_failed"} == REASONS


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan, 10**400])
@pytest.mark.parametrize("fields", [{"value": 1}, {"ts": 1}, {"survey": "nps", "score": 1}])
def test_non_finite_numbers(number: object, fields: dict) -> None:
    with pytest.raises(EventRejected) as info:
        validate_event(ev(**{**fields, list(fields)[-1]: number}), now=NOW)
    assert info.value.reason == "non_finite"


def test_future_limit_is_configurable() -> None:
    assert validate_event(ev(ts=NOW + 3600), now=NOW).ts == NOW + 3600
    with pytest.raises(EventRejected):
        validate_event(ev(ts=NOW + 3600), now=NOW, max_future_seconds=60)


def test_unknown_field_detail_hides_odd_names() -> None:
    assert "colour" in decode(ev(colour="red")).rejections[0].detail
    assert "jane" not in decode(ev(**{"jane.doe@example.com": 1})).rejections[0].detail


# --- batch envelopes --------------------------------------------------------------


def test_batch_mixing_valid_and_invalid() -> None:
    bad_type = ev(event_id="e-2", type="Page View")
    result = decode([MINIMAL, bad_type, 42, ev(event_id="e-4", ts=1795428000), ev(event_id=...)])
    assert [e.event_id for e in result.events] == ["e-1", "e-4"]
    assert [(r.index, r.reason) for r in result.rejections] == [
        (1, "invalid_value"), (2, "not_an_object"), (4, "missing_field"),
    ]
    assert orjson.loads(result.rejections[0].raw) == bad_type
    assert result.rejections[1].raw == b"42"


def test_batch_element_too_deep_to_re_encode_keeps_whole_message() -> None:
    nested = b"[" * 300 + b"]" * 300
    raw = b'[{"event_id":"e","ts":1795428000,"channel":"web","type":"t","attrs":{"k":' + nested + b"}}]"
    (rejection,) = decode_message(raw, now=NOW).rejections
    assert (rejection.reason, rejection.index, rejection.raw) == ("wrong_type", 0, raw)


# --- agreement with the JSON Schema ----------------------------------------------
# Every ts here is within the time-relative limits, which the schema cannot express.
# Left out on purpose: "web\n". jsonschema matches patterns with Python's re, whose $
# also matches before a final newline (ECMA-262's does not); the validator rejects it.

VALID = [
    MINIMAL, FULL, ev(ts=1795428000), ev(ts=1795428000.5), ev(ts="2026-11-23T12:00:00.250+02:00"),
    ev(ts="2026-11-23 10:00:00-01:00"), ev(ts="2026-11-23t10:00:00z"), ev(survey="smiley", score=4),
    ev(survey="ces", score=1.5), ev(survey=None, score=None), ev(touchpoint=None), ev(value=0),
    ev(value=-1e300), ev(customer_id="c" * 128), ev(attrs={}), ev(attrs={"k" * 64: "v" * 256}),
    ev(attrs={f"k{i}": "" for i in range(16)}), ev(event_id="x" * 128), ev(channel="a" * 64),
    ev(segment="vip_2"), ev(attrs={"ä": "ö"}),
]
INVALID = [
    {}, [], "event", ev(ts=...), ev(event_id=None), ev(extra=1), ev(event_id=""), ev(event_id="x" * 129),
    ev(event_id=1), ev(ts=True), ev(ts=946684799), ev(ts="2026-11-23T10:00:00"), ev(ts="2026-11-23"),
    ev(ts="20261123T100000Z"), ev(ts="2026-11-23T10:00:00,5Z"), ev(ts="2026-13-01T10:00:00Z"),
    ev(ts="2026-11-23T24:00:00Z"), ev(ts="2026-11-23T10:00:00+24:00"), ev(ts="２０２６-11-23T10:00:00Z"),
    ev(channel=""), ev(channel="Web"), ev(channel="a" * 65), ev(type=None), ev(touchpoint="a b"),
    ev(segment=3), ev(survey="nps"), ev(score=3), ev(survey="NPS", score=3), ev(survey="nps", score=10.5),
    ev(survey="ces", score=0), ev(survey="csat", score=6), ev(survey="smiley", score=0.5),
    ev(survey="nps", score="9"), ev(value="1"), ev(value=True), ev(customer_id=""), ev(customer_id=5),
    ev(attrs=[]), ev(attrs={"k": 1}), ev(attrs={"": "v"}), ev(attrs={"k" * 65: "v"}),
    ev(attrs={"k": "v" * 257}), ev(attrs={f"k{i}": "" for i in range(17)}),
]


@pytest.mark.parametrize(("obj", "valid"), [(o, True) for o in VALID] + [(o, False) for o in INVALID])
def test_schema_and_validator_agree(obj: object, valid: bool) -> None:
    assert accepts(obj) is valid
    assert SCHEMA_VALIDATOR.is_valid(obj) is valid


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


# --- properties -------------------------------------------------------------------


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """good four times in five, so that a fair share of generated events is valid."""
    return st.integers(0, 4).flatmap(lambda i: bad if i == 0 else good)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
zones = st.sampled_from([timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(minutes=-270))])
rfc3339 = st.datetimes(datetime(2000, 1, 2), datetime(2026, 11, 22), timezones=zones).map(datetime.isoformat)
# Only within the time-relative limits: the schema cannot express them.
good_ts = st.integers(946684800, int(NOW) + 86400) | st.floats(946684800, NOW) | rfc3339
bad_ts = st.booleans() | st.integers(946684000, 946684799) | st.sampled_from(
    ["2026-11-23T10:00:00", "2026-11-23T10:00Z", "20261123T100000Z", "2026-11-23T10:00:00+02", "x"]
)
text = mostly(st.text(min_size=1, max_size=128), st.sampled_from(["", "x" * 129, 7]))
names = mostly(
    st.from_regex(r"[a-z0-9_]{1,64}", fullmatch=True), st.sampled_from(["", "Web", "x" * 65, "é", 5])
)
good_pair = st.sampled_from(sorted(SURVEY_RANGES)).flatmap(
    lambda s: st.tuples(st.just(s), st.floats(*SURVEY_RANGES[s]) | st.integers(*map(int, SURVEY_RANGES[s])))
)
bad_pair = st.tuples(
    st.sampled_from(["nps", "ces", "npx", None, 3]), st.floats(-1, 12) | st.sampled_from([None, "5"])
)
good_attrs = st.dictionaries(st.text(min_size=1, max_size=64), st.text(max_size=256), max_size=3)
bad_attrs = st.sampled_from(
    [[], {"": "v"}, {"k" * 65: "v"}, {"k": "v" * 257}, {"k": 1}, dict.fromkeys("abcdefghijklmnopq", "")]
)
optional = {
    "touchpoint": names | st.none(), "segment": names | st.none(), "customer_id": text | st.none(),
    "value": mostly(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-5, 5), st.just(True)),
    "attrs": mostly(good_attrs | st.none(), bad_attrs),
}
event_like = st.tuples(
    st.fixed_dictionaries(
        {"event_id": text, "ts": mostly(good_ts, bad_ts), "channel": names, "type": names}, optional=optional
    ),
    st.none() | mostly(good_pair, bad_pair),
).map(lambda p: p[0] if p[1] is None else {**p[0], "survey": p[1][0], "score": p[1][1]})


def check_outcome(result: DecodedMessage) -> None:
    assert isinstance(result, DecodedMessage) and (result.events or result.rejections)
    assert all(isinstance(event, TouchpointEvent) for event in result.events)
    for rejection in result.rejections:
        assert isinstance(rejection, Rejection) and rejection.reason in REASONS
        assert isinstance(rejection.raw, bytes) and isinstance(rejection.detail, str)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    check_outcome(decode_message(raw, now=NOW))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values | event_like | st.lists(event_like | json_values, max_size=5))
def test_arbitrary_json_never_raises(doc: object) -> None:
    result = decode(doc)
    check_outcome(result)
    if isinstance(doc, list) and doc:
        assert len(result.events) + len(result.rejections) == len(doc)


@settings(max_examples=300, deadline=None)
@given(event_like)
def test_schema_and_validator_agree_on_generated_events(obj: dict) -> None:
    assert SCHEMA_VALIDATOR.is_valid(obj) == accepts(obj)


# --- personal data --------------------------------------------------------------


@pytest.mark.parametrize("bad", [{"channel": "B"}, {"survey": "nps", "score": 99}, {"ts": "soon"}, {"x": 1}])
def test_personal_data_never_in_details_or_repr(bad: dict) -> None:
    pii = ev(customer_id="CANARY-PII-123", attrs={"k": "CANARY-PII-456"})
    event = validate_event(pii, now=NOW)
    assert "CANARY" not in repr(event) and "CANARY" not in str(event)
    for result in (decode({**pii, **bad}), decode([MINIMAL, {**pii, **bad}])):
        (rejection,) = result.rejections
        assert "CANARY" not in rejection.detail
        assert "CANARY" not in repr(rejection._replace(raw=b""))  # raw is meant to keep the data
    with pytest.raises(EventRejected) as info:
        validate_event({**pii, **bad}, now=NOW)
    assert "CANARY" not in str(info.value)
