"""Control-topic commands: what is rejected (with which dead-letter reason) and what is accepted."""

from __future__ import annotations

import orjson
import pytest

from streams import internal
from streams.control import Feedback, Maintenance, parse_control
from streams.validation import REASONS, EventRejected

DAY = 86400.0
# 2024-05-01T00:00:00Z is 1_714_521_600 (2024-01-01 is 1_704_067_200, plus 121 days).
MAY_1 = 1_714_521_600.0
NOW = MAY_1 + 7 * 3600  # 07:00 UTC that day

MAINTENANCE = {"command": "maintenance", "channel": "webshop", "start": MAY_1 + 10 * 3600,
               "end": MAY_1 + 12 * 3600, "reason": "release 4.2"}
FEEDBACK = {"command": "feedback", "series": "webshop/conversion_rate", "alert_id": "3f2c-a1",
            "verdict": "false_alarm"}


def parse(obj: object) -> object:
    return parse_control(orjson.dumps(obj), now=NOW)


def reason(raw: bytes | None) -> str:
    with pytest.raises(EventRejected) as caught:
        parse_control(raw, now=NOW)
    assert caught.value.reason in REASONS  # a reason the dead-letter topic knows
    return caught.value.reason


def without(obj: dict, key: str) -> dict:
    return {k: v for k, v in obj.items() if k != key}


# --- rejections ---------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", None])
def test_empty(raw):
    assert reason(raw) == "empty"


def test_too_large():
    big = orjson.dumps({**MAINTENANCE, "reason": "x" * 4096})
    assert len(big) > 4096
    assert reason(big) == "too_large"


def test_exactly_4096_bytes_is_not_too_large():
    body = orjson.dumps(MAINTENANCE)
    padded = body[:-1] + b" " * (4096 - len(body)) + b"}"  # JSON whitespace up to the limit
    assert len(padded) == 4096
    assert parse_control(padded, now=NOW) == parse(MAINTENANCE)


@pytest.mark.parametrize("raw", [b"{nope", b"\xff\xfe", b'{"command": "feedback",}'])
def test_invalid_json(raw):
    assert reason(raw) == "invalid_json"


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"maintenance"', b"42", b"null"])
def test_not_an_object(raw):
    assert reason(raw) == "not_an_object"


@pytest.mark.parametrize("obj", [{**MAINTENANCE, "extra": 1}, {**FEEDBACK, "channel": "webshop"}],
                         ids=["maintenance", "feedback"])
def test_unknown_field(obj):
    assert reason(orjson.dumps(obj)) == "unknown_field"


@pytest.mark.parametrize(
    "obj",
    [without(MAINTENANCE, "end"), without(MAINTENANCE, "channel"), without(MAINTENANCE, "start"),
     without(FEEDBACK, "alert_id"), without(FEEDBACK, "verdict"), without(FEEDBACK, "series")],
    ids=["no-end", "no-channel", "no-start", "no-alert-id", "no-verdict", "no-series"],
)
def test_missing_field(obj):
    assert reason(orjson.dumps(obj)) == "missing_field"


@pytest.mark.parametrize(
    "obj",
    [
        {**FEEDBACK, "command": "restart"},
        without(FEEDBACK, "command"),
        {**FEEDBACK, "verdict": "maybe"},
        {**FEEDBACK, "series": "webshop"},
        {**FEEDBACK, "series": "Webshop/conversion_rate"},
        {**FEEDBACK, "series": "webshop/conversion_rate@"},
        {**FEEDBACK, "series": "webshop/conversion rate"},
        {**FEEDBACK, "series": ""},
        {**FEEDBACK, "alert_id": "a" * 129},
        {**MAINTENANCE, "channel": "Web Shop"},
        {**MAINTENANCE, "channel": "x" * 65},
        {**MAINTENANCE, "end": MAINTENANCE["start"]},  # end == start
        {**MAINTENANCE, "end": MAINTENANCE["start"] - 60},  # end before start
        {**MAINTENANCE, "end": MAINTENANCE["start"] + 7 * DAY + 1},  # over 7 days
        {**MAINTENANCE, "reason": "r" * 257},
        {**MAINTENANCE, "reason": ""},
    ],
    ids=["bad-command", "no-command", "bad-verdict", "series-no-metric", "series-upper-case",
         "series-empty-touchpoint", "series-space", "series-empty", "alert-id-too-long",
         "channel-pattern", "channel-too-long", "end-equals-start", "end-before-start", "over-7-days",
         "reason-too-long", "reason-empty"],
)
def test_invalid_value(obj):
    assert reason(orjson.dumps(obj)) == "invalid_value"


@pytest.mark.parametrize(
    "change",
    [
        {"start": "yesterday"},
        {"start": "2024-05-01"},  # a date without a time
        {"start": "2024-05-01T10:00:00"},  # no offset
        {"start": "2024-02-30T10:00:00Z"},  # no such day
        {"start": 900_000_000.0},  # 1998: before 2000-01-01
        {"start": NOW + 7 * DAY + 1, "end": NOW + 7 * DAY + 3600},  # planned over 7 days ahead
        {"end": NOW + 14 * DAY + 1},  # end more than 14 days ahead
    ],
    ids=["words", "date-only", "no-offset", "no-such-day", "before-2000", "start-too-far-ahead",
         "end-too-far-ahead"],
)
def test_invalid_timestamp(change):
    assert reason(orjson.dumps({**MAINTENANCE, **change})) == "invalid_timestamp"


@pytest.mark.parametrize(
    "obj",
    [{**MAINTENANCE, "channel": 5}, {**MAINTENANCE, "start": True}, {**FEEDBACK, "series": ["a/b"]},
     {**FEEDBACK, "alert_id": 7}, {**MAINTENANCE, "reason": 3}],
    ids=["channel-number", "start-bool", "series-list", "alert-id-number", "reason-number"],
)
def test_wrong_type(obj):
    assert reason(orjson.dumps(obj)) == "wrong_type"


def test_rejection_detail_does_not_echo_the_value():
    with pytest.raises(EventRejected) as caught:
        parse({**FEEDBACK, "series": "jane.doe@example.com"})
    assert "jane" not in str(caught.value)


# --- accepted commands --------------------------------------------------------------


def test_maintenance_with_epoch_seconds():
    command = parse(MAINTENANCE)
    assert command == Maintenance("webshop", MAY_1 + 36_000, MAY_1 + 43_200, "release 4.2")


def test_maintenance_with_rfc3339_times_and_offsets():
    # 10:00Z and 14:30+03:00 (= 11:30Z): 36_000 and 41_400 s after midnight UTC.
    command = parse({"command": "maintenance", "channel": "webshop",
                     "start": "2024-05-01T10:00:00Z", "end": "2024-05-01T14:30:00+03:00"})
    assert isinstance(command, Maintenance)
    assert (command.start, command.end) == (MAY_1 + 36_000, MAY_1 + 41_400)
    assert command.reason == ""  # optional


def test_maintenance_in_the_past_and_exactly_seven_days_long_is_accepted():
    start = NOW - 30 * DAY
    command = parse({**MAINTENANCE, "start": start, "end": start + 7 * DAY, "reason": None})
    assert (command.start, command.end, command.reason) == (start, start + 7 * DAY, "")


def test_maintenance_planned_ahead_within_limits_is_accepted():
    start = NOW + 7 * DAY  # as far ahead as a start may be
    command = parse({**MAINTENANCE, "start": start, "end": start + 7 * DAY})
    assert command.end == NOW + 14 * DAY


@pytest.mark.parametrize("verdict", ["false_alarm", "confirmed"])
def test_feedback(verdict):
    command = parse({**FEEDBACK, "verdict": verdict})
    assert command == Feedback("webshop/conversion_rate", "3f2c-a1", verdict)


def test_feedback_for_a_touchpoint_series():
    command = parse({**FEEDBACK, "series": "phone/contact_volume@billing"})
    assert command.series == "phone/contact_volume@billing"
    assert command.channel == "phone"


def test_feedback_channel_is_the_series_channel():
    assert Feedback("webshop/conversion_rate", "a", "confirmed").channel == "webshop"
    assert Maintenance("chat", 0.0, 1.0).channel == "chat"


@pytest.mark.parametrize(
    ("verdict", "before", "after"),
    [("false_alarm", 1.0, 1.25), ("false_alarm", 1.6, 2.0), ("false_alarm", 2.0, 2.0),
     ("confirmed", 1.25, 1.0), ("confirmed", 2.0, 1.6), ("confirmed", 1.0, 1.0)],
)
def test_feedback_adjust(verdict, before, after):
    assert Feedback("chat/contact_volume", "a", verdict).adjust(before) == pytest.approx(after)


@pytest.mark.parametrize("command", [Maintenance("webshop", MAY_1, MAY_1 + 3600, "release"),
                                     Feedback("phone/contact_volume@billing", "a1", "confirmed")])
def test_commands_survive_the_trip_through_the_repartition_topic(command):
    decoded = internal.decode(internal.encode_control(command))
    assert isinstance(decoded, internal.Control)
    assert decoded.command == command
