"""Which events each open window has counted, so that a copy counts once, even after a restart.

Copies of an event share its event time, so they meet in its window: a window
keeps the fingerprints (:func:`streams.windowing.event_fingerprint`) of the event
ids it counted until it closes. They are stored apart from the window counters, in
*parts*: each flush writes the fingerprints added since the last one as one new
record per window (``<channel>/<window>/<part>``), and the window's state counts
its parts; a window that closes before a flush stores none. So a
flush writes each fingerprint once, instead of rewriting every fingerprint of the
window with its counters each time (which made the changelog about 170 bytes per
event; ``benchmarks/hot_path.py`` prints the changelog volume).

Crash order: parts go to the channel's changelog partition before the windows record
that counts them (see :mod:`streams.changelog`), so a restored window never counts
a part that is not there. The parts of a closed window are deleted in the flush after
the one whose windows record marks it closed.
"""

from __future__ import annotations

from collections.abc import MutableMapping


def part_key(channel: str, index: int, part: int) -> str:
    return f"{channel}/{index}/{part}"


class WindowEventIds:
    """The fingerprint sets of the open windows, over a mapping of stored parts.

    >>> store = {}
    >>> ids = WindowEventIds(store)
    >>> ids.seen("chat", 7, parts=0).add(11)
    >>> ids.note_new("chat", 7, 11)
    >>> counts = {"chat": {}}  # the channel's part counts, in its windows state
    >>> ids.write_parts(counts)
    >>> counts, store
    ({'chat': {'7': 1}}, {'chat/7/0': [11]})
    >>> WindowEventIds(store).seen("chat", 7, parts=1)  # as after a restart
    {11}
    """

    def __init__(self, store: MutableMapping[str, list[int]]) -> None:
        self.store = store
        # A cache of the stored parts as sets; rebuilt from the store when missing.
        self._sets: dict[str, dict[int, set[int]]] = {}
        self._new: dict[tuple[str, int], list[int]] = {}
        self._retired: list[str] = []

    def seen(self, channel: str, index: int, parts: int) -> set[int]:
        """The fingerprints window ``index`` of ``channel`` has counted (add to it)."""
        windows = self._sets.setdefault(channel, {})
        found = windows.get(index)
        if found is None:
            found = windows[index] = set()
            for part in range(parts):
                found.update(self.store.get(part_key(channel, index, part), ()))
        return found

    def note_new(self, channel: str, index: int, fingerprint: int) -> None:
        """Remember ``fingerprint`` for the next part of its window."""
        new = self._new.get((channel, index))
        if new is None:
            new = self._new[channel, index] = []
        new.append(fingerprint)

    def pending_channels(self) -> set[str]:
        """Channels with fingerprints waiting for :meth:`write_parts`."""
        return {channel for channel, _ in self._new}

    def write_parts(self, part_counts: dict[str, dict[str, int]]) -> None:
        """Store what :meth:`note_new` collected as one part per window (call before a
        flush), counting it in ``part_counts`` (per channel, window index as text ->
        parts: the windows state)."""
        for (channel, index), fingerprints in self._new.items():
            counts = part_counts[channel]
            part = counts.get(str(index), 0)
            self.store[part_key(channel, index, part)] = fingerprints
            counts[str(index)] = part + 1
        self._new = {}

    def retire(self, channel: str, index: int, parts: int) -> None:
        """Window ``index`` closed: forget it now, delete its stored parts at the next :meth:`sweep`."""
        windows = self._sets.get(channel)
        if windows is not None:
            windows.pop(index, None)
        self._new.pop((channel, index), None)  # closed before it was ever stored
        self._retired += (part_key(channel, index, part) for part in range(parts))

    def sweep(self) -> None:
        """Delete the parts of the windows retired before (call at the start of a run)."""
        for key in self._retired:
            self.store.pop(key, None)
        self._retired = []

    def forget(self, channel: str) -> None:
        """Drop the cache of a channel this worker no longer owns."""
        self._sets.pop(channel, None)
