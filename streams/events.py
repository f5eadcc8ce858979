"""The validated touchpoint event (schema v1, ``config/schema/touchpoint-event.v1.json``).

Build events from untrusted input with ``streams.validation.validate_event``; the
constructor itself does not check anything, so that the hot path pays for the
checks only once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class TouchpointEvent(NamedTuple):
    """One customer-experience touchpoint event; ``ts`` is epoch seconds (UTC).

    A named tuple, not a frozen dataclass: it is built once per event in the hot
    path, and a tuple is built about four times faster. It is immutable all the same.
    """

    event_id: str
    ts: float
    channel: str
    type: str
    touchpoint: str | None = None
    segment: str | None = None
    survey: str | None = None
    score: float | None = None
    value: float | None = None
    # Personal data: kept out of repr (below) so that it never reaches logs or tracebacks.
    customer_id: str | None = None
    # The validator stores attrs as a read-only mapping proxy.
    attrs: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _SHOWN)
        return f"TouchpointEvent({shown})"

    def __hash__(self) -> int:
        # attrs (a mapping proxy) has no hash; events equal in the other fields may collide.
        return hash(self[:10])

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


_SHOWN = tuple(name for name in TouchpointEvent._fields if name not in ("customer_id", "attrs"))
