"""Commands on the control topic (``kohta.control``), validated like events.

- ``{"command": "maintenance", "channel": "chat", "start": ..., "end": ..., "reason": "..."}``:
  alerts of the channel are suppressed and its detectors do not learn from windows
  that overlap ``[start, end)``.
- ``{"command": "feedback", "series": "webshop/conversion_rate", "alert_id": "...",
  "verdict": "false_alarm" | "confirmed"}``: a false alarm makes the series less
  sensitive (its deviations need a larger z to alert), a confirmation undoes that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from streams.validation import EventRejected, check_name, check_text, parse_timestamp

MAX_MAINTENANCE_SECONDS = 7 * 86400
# Each false alarm raises the needed z by a quarter, up to twice the threshold.
SENSITIVITY_STEP = 1.25
MAX_SENSITIVITY = 2.0
_SERIES = re.compile(r"^[a-z0-9_]{1,64}/[a-z0-9_]{1,64}(@[a-z0-9_]{1,64})?$")


@dataclass(frozen=True, slots=True)
class Maintenance:
    channel: str
    start: float
    end: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Feedback:
    series: str
    alert_id: str
    verdict: str

    @property
    def channel(self) -> str:
        return self.series.split("/", 1)[0]

    def adjust(self, sensitivity: float) -> float:
        if self.verdict == "false_alarm":
            return min(MAX_SENSITIVITY, sensitivity * SENSITIVITY_STEP)
        return max(1.0, sensitivity / SENSITIVITY_STEP)


ControlCommand = Maintenance | Feedback


def _fields(obj: dict, allowed: set[str], required: set[str]) -> None:
    unknown = set(obj) - allowed
    if unknown:
        raise EventRejected("unknown_field", "control command has an unknown field")
    missing = required - set(obj)
    if missing:
        raise EventRejected("missing_field", f"control command needs {', '.join(sorted(missing))}")


def parse_control(raw: bytes | None, *, now: float | None = None) -> ControlCommand:
    """A validated command; raises :class:`EventRejected` with a dead-letter reason."""
    if not raw:
        raise EventRejected("empty", "control message is empty")
    if len(raw) > 4096:
        raise EventRejected("too_large", "control message is over 4096 bytes")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise EventRejected("invalid_json", "control message is not valid JSON") from None
    if not isinstance(obj, dict):
        raise EventRejected("not_an_object", "control message must be a JSON object")
    command = obj.get("command")
    if command == "maintenance":
        _fields(obj, {"command", "channel", "start", "end", "reason"}, {"command", "channel", "start", "end"})
        # A maintenance window may be planned ahead, up to its maximum length.
        start = parse_timestamp(obj["start"], now, MAX_MAINTENANCE_SECONDS)
        end = parse_timestamp(obj["end"], now, 2 * MAX_MAINTENANCE_SECONDS)
        if not start < end <= start + MAX_MAINTENANCE_SECONDS:
            raise EventRejected("invalid_value", "maintenance end must be after start, within 7 days")
        reason = check_text(obj["reason"], "reason", 256) if obj.get("reason") is not None else ""
        return Maintenance(check_name(obj["channel"], "channel"), start, end, reason)
    if command == "feedback":
        _fields(obj, {"command", "series", "alert_id", "verdict"}, {"command", "series", "alert_id", "verdict"})
        series = check_text(obj["series"], "series", 200)
        if _SERIES.match(series) is None:
            raise EventRejected("invalid_value", "series must look like channel/metric or channel/metric@touchpoint")
        if obj["verdict"] not in ("false_alarm", "confirmed"):
            raise EventRejected("invalid_value", "verdict must be false_alarm or confirmed")
        return Feedback(series, check_text(obj["alert_id"], "alert_id", 128), obj["verdict"])
    raise EventRejected("invalid_value", "command must be maintenance or feedback")
