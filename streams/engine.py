"""The pipeline's logic without Kafka: window, measure, detect, decide alerts.

The Faust worker and the backtest both drive this class, so what one decides the
other decides too. State lives in mappings handed in: in the worker they
are Faust tables (every assignment is written to a changelog topic), in the
backtest plain dicts. Values are JSON-able dicts, so a changelog never holds
pickles.

Per-key state is only ever assigned from the partition that owns its channel
(:func:`streams.partitioning.partition_for`), so a table's changelog partition
for a key never changes and a restarted worker restores exactly what it wrote.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from streams import fingerprints as fp
from streams.alerting import WindowResult, new_alert_state
from streams.contributions import attach_contributors
from streams.control import ControlCommand, Maintenance
from streams.clock import PartitionClocks
from streams.events import TouchpointEvent
from streams.judging import SeriesJudge
from streams.metric_book import MetricBook, Tally
from streams.partitioning import partition_for
from streams.settings import KohtaSettings
from streams.windowing import (
    ChannelWindows,
    ClosedWindow,
    event_fingerprint,
    last_closable_index,
)

StateMap = MutableMapping[str, Any]


@dataclass(slots=True)
class Outcome:
    """What one step of the engine asks the outside world to do or record."""

    late: list[TouchpointEvent] = field(default_factory=list)
    replayed: list[TouchpointEvent] = field(default_factory=list)
    duplicates: list[TouchpointEvent] = field(default_factory=list)
    overflow: list[TouchpointEvent] = field(default_factory=list)
    accepted_by_channel: dict[str, int] = field(default_factory=dict)
    closed: list[ClosedWindow] = field(default_factory=list)
    results: list[WindowResult] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(self.accepted_by_channel.values())

    def extend(self, other: Outcome) -> None:
        self.late += other.late
        self.replayed += other.replayed
        self.duplicates += other.duplicates
        self.overflow += other.overflow
        for channel, count in other.accepted_by_channel.items():
            self.accepted_by_channel[channel] = self.accepted_by_channel.get(channel, 0) + count
        self.closed += other.closed
        self.results += other.results
        self.alerts += other.alerts


class Engine:
    def __init__(
        self,
        settings: KohtaSettings,
        *,
        windows: StateMap,
        detectors: StateMap,
        alerts: StateMap,
        watermarks: StateMap | None = None,
        fingerprints: StateMap | None = None,
    ) -> None:
        self.settings = settings
        self.book = MetricBook(settings.metrics)
        self.windows, self.detectors, self.alerts = windows, detectors, alerts
        self.partitions = settings.topics.partitions
        self.size = settings.windows.size_seconds
        self.lateness = settings.windows.allowed_lateness_seconds
        self.clocks = PartitionClocks(settings.windows.idle_timeout_seconds)
        # Each partition's watermark as of its last close, keyed by str(partition):
        # what a restart seeds the clock from (see _ensure_clock).
        self.watermarks = watermarks if watermarks is not None else {}
        # Each open window's event-id fingerprints, in chunks (streams.fingerprints).
        self.fingerprints = fingerprints if fingerprints is not None else {}
        self._chunk = settings.windows.fingerprint_chunk
        self.judge = SeriesJudge(settings, self.book, detectors=detectors, alerts=alerts, size=self.size)
        self._configured = frozenset(settings.channels)
        # Derived from the clocks, so it may be lost at any time without harm.
        self._closed_through: dict[int, int] = {}
        # Sets over the event-id fingerprints each open window keeps in its stored
        # chunks (see _stored_fingerprints): a cache, rebuilt after a restart.
        self._seen: defaultdict[str, dict[int, set[int]]] = defaultdict(dict)

    def owner(self, channel: str) -> int:
        return partition_for(channel, self.partitions)

    def channels_of(self, partition: int) -> list[str]:
        return [c for c in list(self.windows.keys()) if self.owner(c) == partition]

    def _admits_new_channel(self, partition: int, channel: str) -> bool:
        """Configured channels always; discovered ones up to this partition's share of the cap.

        The cap is split over partitions so that the decision depends only on the
        partition's own state: the same on every worker, and in the backtest.
        """
        if channel in self._configured:
            return True
        share = -(-self.settings.max_discovered_channels // self.partitions)
        discovered = [c for c in self.channels_of(partition) if c not in self._configured]
        return len(discovered) < share

    def forget_partition(self, partition: int) -> None:
        """Drop caches of a partition this worker no longer owns."""
        for channel in self.channels_of(partition):
            self._seen.pop(channel, None)
        for series_id in [s for s in self.judge.open_alerts if self.owner(s.split("/", 1)[0]) == partition]:
            del self.judge.open_alerts[series_id]
        self.clocks.forget(partition)
        self._closed_through.pop(partition, None)

    def _ensure_clock(self, partition: int, wall_now: float) -> None:
        """Seed an unknown partition's clock from its stored watermark.

        Not from its channels' newest events: a crash can cut a flush short after one
        channel's record was written and before another's (or before that channel's
        first), and the redelivered events of the other would be judged late against
        the first's newer events. The watermark is written after every channel's
        record (streams.changelog), so it is never newer than any channel's state.
        With none stored the clock starts at the first event absorbed.
        """
        if not self.clocks.knows(partition):
            self.clocks.seed(partition, self.watermarks.get(str(partition)), wall_now)

    def absorb(
        self,
        partition: int,
        events: Iterable[TouchpointEvent],
        wall_now: float,
        source: tuple[str, int] | None = None,
    ) -> Outcome:
        """Count events owned by ``partition``, in arrival order, then close what is due.

        ``source`` names the message the events came in (``"topic:partition"``,
        offset). Each channel's state remembers the newest source offset it has
        absorbed, so a message Kafka delivers again after a crash is skipped
        instead of counted twice.
        """
        return self.absorb_parcels(partition, [(source, events)], wall_now)

    def absorb_parcels(
        self,
        partition: int,
        parcels: Iterable[tuple[tuple[str, int] | None, Iterable[TouchpointEvent]]],
        wall_now: float,
    ) -> Outcome:
        """:meth:`absorb` for the events of several messages, ``(source, events)`` in
        arrival order, with one close at the end.

        Closing once instead of after every message changes nothing but the cost:
        whether an event is late depends on the watermark when it arrives, not on
        whether its window was closed yet.
        """
        self._ensure_clock(partition, wall_now)
        outcome = Outcome()
        touched: dict[str, ChannelWindows] = {}
        # Per touched channel: its newest closed window, which no absorb changes.
        closed_through: dict[str, float] = {}
        absorbed: dict[str, dict[str, int]] = defaultdict(dict)
        size, lateness, floor = self.size, self.lateness, math.floor
        accepted = outcome.accepted_by_channel
        cap, book = self.settings.max_touchpoints_per_channel, self.book
        # Per (channel, window) of this run: the fingerprint set, the fingerprints new
        # in this run (stored at its end) and the window's counters (nothing closes
        # during the run).
        slots: dict[tuple[str, int], tuple[set[int], list[int], Tally]] = {}
        # The partition's watermark as this run's events advance it. Nothing reads the
        # clock during the run, so it is handed to the clock once, at the end.
        watermark = self.clocks.current(partition)
        closable = -math.inf if watermark is None else last_closable_index(watermark, size, lateness)
        observed = False
        # Events come in runs of one channel and one window (an envelope is usually
        # one channel's minute): what was looked up for the previous event is kept.
        slot_channel, slot_index, slot = None, None, None
        for source, events in parcels:
            # Whether a channel's events in this message are a replay: the same for
            # all of them, so decided at the channel's first event in the message.
            replay: dict[str, bool] = {}
            channel_now = None  # the previous event's channel in this message
            for event in events:
                channel = event.channel
                if channel != channel_now:
                    channel_now, windows = channel, touched.get(channel)
                    if windows is None:
                        stored = self.windows.get(channel)
                        if stored is None and not self._admits_new_channel(partition, channel):
                            refused = True  # a channel refused once stays refused in this run
                        else:
                            refused = False
                            windows = touched[channel] = ChannelWindows(channel, stored)
                            closed = windows.state.get("closed_through")
                            closed_through[channel] = -math.inf if closed is None else closed
                            if stored is None:
                                self.windows[channel] = windows.state  # counts against the cap at once
                    else:
                        refused = False
                    replayed = False
                    if source is not None and not refused:
                        replayed = replay.get(channel)
                        if replayed is None:
                            replayed = replay[channel] = self._is_replay(windows, absorbed[channel], source)
                    newest_closed = closed_through.get(channel)
                if refused:
                    outcome.overflow.append(event)
                    continue
                if replayed:
                    outcome.replayed.append(event)
                    continue
                ts = event.ts
                observed = True
                if watermark is None or ts > watermark:
                    watermark = ts
                    closable = floor((ts - lateness) / size) - 1  # last_closable_index, inlined
                index = floor(ts / size)  # window_index, inlined: it runs per event
                if index <= closable or index <= newest_closed:  # ChannelWindows.is_late
                    outcome.late.append(event)
                    continue
                # Copies of an event share its event time, so they meet in its window.
                if index != slot_index or channel != slot_channel:
                    slot_channel, slot_index = channel, index
                    slot = slots.get((channel, index))
                    if slot is None:
                        seen = self._seen[channel].get(index)
                        if seen is None:
                            seen = self._seen[channel][index] = self._stored_fingerprints(windows, index)
                        slot = slots[channel, index] = (seen, [], book.tally(windows.counters(index)))
                fingerprint = event_fingerprint(event.event_id)
                if fingerprint in slot[0]:
                    outcome.duplicates.append(event)
                    continue
                windows.count_into(slot[2], event, cap)
                slot[0].add(fingerprint)
                slot[1].append(fingerprint)
                accepted[channel] = accepted.get(channel, 0) + 1
        if observed:
            self.clocks.observe(partition, watermark, wall_now)
        for (channel, index), (_, new, tally) in slots.items():
            tally.settle()
            if new:
                entries = touched[channel].state.setdefault("fp", {})
                fp.append(self.fingerprints, channel, index, entries, new, self._chunk)
        for channel, windows in touched.items():
            for topic_partition, offset in absorbed[channel].items():
                windows.mark_absorbed(topic_partition, offset)
            self.windows[channel] = windows.state
        outcome.extend(self.close_due(partition, wall_now))
        return outcome

    def _stored_fingerprints(self, windows: ChannelWindows, index: int) -> set[int]:
        entry = windows.state.get("fp", {}).get(str(index))
        found = set(fp.stored(self.fingerprints, windows.channel, index, entry))
        found.update(windows.legacy_fingerprints(index))
        return found

    def _drop_fingerprints(self, windows: ChannelWindows, last: int) -> None:
        """Delete the fingerprints of the windows up to ``last`` (closing, or skipped)."""
        entries = windows.state.get("fp")
        for key in [k for k in entries or () if int(k) <= last]:
            fp.drop(self.fingerprints, windows.channel, int(key), entries.pop(key))

    @staticmethod
    def _is_replay(windows: ChannelWindows, absorbed: dict[str, int], source: tuple[str, int]) -> bool:
        """Absorbed before this run, or earlier in it (a message delivered twice);
        if neither, the message is recorded as absorbed in this run."""
        topic_partition, offset = source
        if windows.has_absorbed(topic_partition, offset) or absorbed.get(topic_partition, offset) > offset:
            return True
        absorbed[topic_partition] = offset
        return False

    def close_due(self, partition: int, wall_now: float) -> Outcome:
        """Close every window of ``partition`` its watermark has passed, and judge it."""
        self._ensure_clock(partition, wall_now)
        outcome = Outcome()
        watermark = self.clocks.watermark(partition, wall_now)
        last = last_closable_index(watermark, self.size, self.lateness)
        # Stored only when the windows it lets close change: that is all a restart's
        # lateness decisions depend on, and it saves a changelog record per partition
        # per batch. (An idle partition's wall-clock closes after a restart may come up
        # to a window later, as its clock restarts from the stored value.)
        stored = self.watermarks.get(key := str(partition))
        if last is not None and (stored is None or last_closable_index(stored, self.size, self.lateness) != last):
            self.watermarks[key] = watermark
        if last is None or self._closed_through.get(partition, last - 1) >= last:
            return outcome
        closing: list[tuple[float, str, ClosedWindow]] = []
        kept: dict[str, ChannelWindows] = {}
        for channel in self.channels_of(partition):
            windows = ChannelWindows(channel, self.windows[channel])
            closed = windows.close_through(last, self.size, self.book)
            if closed:
                self._drop_fingerprints(windows, last)
                kept[channel] = windows
                closing += [(window.start, channel, window) for window in closed]
        # Window by window, channels in name order: the order does not depend on how
        # the messages were batched nor on the order keys came back from a changelog.
        closing.sort(key=lambda item: item[:2])
        for _, channel, window in closing:
            outcome.closed.append(window)
            seen = self._seen.get(channel)
            if seen is not None:
                seen.pop(window.index, None)
            suppressed = kept[channel].in_maintenance(window.start, window.end)
            results: dict[str, WindowResult] = {}
            records: list[dict[str, Any]] = []
            for key, counts in window.counts.items():
                result, new = self.judge.judge(window, key, counts, suppressed)
                results[key] = result
                records += new
            attach_contributors(records, results)
            outcome.results += results.values()
            outcome.alerts += records
        for channel, windows in kept.items():
            windows.forget_maintenance_before(last * self.size)
            self.windows[channel] = windows.state
        self._closed_through[partition] = last
        return outcome

    def apply_control(self, command: ControlCommand) -> None:
        """A maintenance window or alert feedback, applied in the channel's partition."""
        if isinstance(command, Maintenance):
            windows = ChannelWindows(command.channel, self.windows.get(command.channel))
            windows.add_maintenance(command.start, command.end)
            self.windows[command.channel] = windows.state
        else:
            state = self.alerts.get(command.series) or new_alert_state()
            state["sensitivity"] = command.adjust(state.get("sensitivity", 1.0))
            self.alerts[command.series] = state
