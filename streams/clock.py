"""Per-partition event clocks (watermarks) with a wall-clock fallback for silence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Clock:
    watermark: float
    wall_at_last_event: float
    wall_at_last_advance: float


class PartitionClocks:
    """The watermark of each partition this worker processes.

    A watermark only moves forward, with the highest event time seen. When a
    partition has been silent for ``idle_timeout`` wall seconds its watermark
    follows the wall clock from the last event on, so that windows of a channel
    that went silent (a chat outage) still close and are scored.

    This is a cache: after a restart it is seeded from the stored watermark
    (:meth:`seed`), so nothing here needs to survive a crash.
    """

    def __init__(self, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self._clocks: dict[int, _Clock] = {}

    def knows(self, partition: int) -> bool:
        return partition in self._clocks

    def seed(self, partition: int, watermark: float | None, wall_now: float) -> None:
        if watermark is not None and partition not in self._clocks:
            self._clocks[partition] = _Clock(watermark, wall_now, wall_now)

    def current(self, partition: int) -> float | None:
        """The watermark as the last event left it (no wall-clock advance); None if unknown."""
        clock = self._clocks.get(partition)
        return None if clock is None else clock.watermark

    def forget(self, partition: int) -> None:
        self._clocks.pop(partition, None)

    def observe(self, partition: int, event_time: float, wall_now: float) -> float:
        clock = self._clocks.get(partition)
        if clock is None:
            clock = self._clocks[partition] = _Clock(event_time, wall_now, wall_now)
        elif event_time > clock.watermark:
            clock.watermark = event_time
        clock.wall_at_last_event = clock.wall_at_last_advance = wall_now
        return clock.watermark

    def watermark(self, partition: int, wall_now: float) -> float | None:
        clock = self._clocks.get(partition)
        if clock is None:
            return None
        idle = wall_now - clock.wall_at_last_event >= self.idle_timeout
        # Only forward: a wall clock that steps back (NTP) must not pull it back.
        if idle and wall_now > clock.wall_at_last_advance:
            # Moved forward for good: events arriving later than this are late.
            clock.watermark += wall_now - clock.wall_at_last_advance
            clock.wall_at_last_advance = wall_now
        return clock.watermark
