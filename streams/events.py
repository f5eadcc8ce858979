"""The validated touchpoint event (schema v1, ``config/schema/touchpoint-event.v1.json``).

Build events from untrusted input with ``streams.validation.validate_event``; the
constructor itself does not check anything, so that the hot path pays for the
checks only once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TouchpointEvent:
    """One customer-experience touchpoint event; ``ts`` is epoch seconds (UTC)."""

    event_id: str
    ts: float
    channel: str
    type: str
    touchpoint: str | None = None
    segment: str | None = None
    survey: str | None = None
    score: float | None = None
    value: float | None = None
    # Personal data: kept out of repr so that it never reaches logs or tracebacks.
    customer_id: str | None = field(default=None, repr=False)
    # hash=False keeps events hashable: the validator stores attrs as a read-only
    # mapping proxy, which has no hash.
    attrs: Mapping[str, str] | None = field(default=None, repr=False, hash=False)

    def to_json_dict(self) -> dict:
        """A JSON-ready dict that ``validate_event`` turns back into an equal event."""
        out: dict = {"event_id": self.event_id, "ts": self.ts, "channel": self.channel, "type": self.type}
        for name in ("touchpoint", "segment", "survey", "score", "value", "customer_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.attrs is not None:
            out["attrs"] = dict(self.attrs)
        return out
