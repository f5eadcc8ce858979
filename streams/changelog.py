"""Faust tables written the way kohta's flush-before-commit order needs.

Faust writes a table's changelog on every assignment, to the partition of the
event being processed. kohta processes messages in batches, so it keeps writes
local while a batch runs and sends each changed key once at the end
(:meth:`StateTable.flush`), to the partition that owns the key's channel.

The order per batch is: process → flush the state changelog → ack the batch's
messages; Faust's commit then flushes the producer before it commits offsets, so
an offset is never committed ahead of the state that absorbed it.

**Why one table, and records that hold several kinds of state.** A SIGKILL can land
part-way through a flush. Kafka keeps order only within a partition, and the
producer sends one batch per partition per request, so with a table per kind a
channel's windows record (which marks its windows closed) could reach the log while
the detector and alert records of that close, queued for other partitions, did not.
So every kind of state is a view of one table, and all of a channel's keys go to
its owner partition: in flush order, series records (``s:…``) and the chunks of
event-id fingerprints (``f:…``, see streams.fingerprints) before the channel's
windows record (``w:…``), so if the windows record is on the log, so is all the
rest. A series' detector and alert state share one record (fields ``detector`` and
``alert``): they are always restored together, as of the same close.

Last come the partitions' watermarks (``c:<partition>``), which a restart seeds its
event clocks from (written when the newest window they let close changes). Written
after every channel's record, a watermark on the log is never newer than the state
of any channel of its partition: a flush cut short leaves the previous one, under
which the records that did not make it were absorbed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import faust


class StateView(MutableMapping[str, Any]):
    """One kind of state in a :class:`StateTable`: the records under ``prefix``, or
    one ``field`` of them, keyed without the prefix."""

    def __init__(self, table: faust.Table, prefix: str, field: str | None, records: _Records) -> None:
        self.table = table
        self.prefix = prefix
        self.field = field
        self._records = records  # shared by the views of one prefix
        self._keys: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        if self.field is None:
            # The hot path (windows): one dict lookup instead of MutableMapping's try/except.
            return self.table.data.get(self.prefix + key, default)
        record = self._records.open(key, create=False)
        return default if record is None else record.get(self.field, default)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if self.field is None:
            self.table.data[self.prefix + key] = value
        else:
            self._records.open(key, create=True)[self.field] = value
        self._keys.add(key)
        self._records.dirty.add(key)

    def __delitem__(self, key: str) -> None:
        if key not in self._keys:
            raise KeyError(key)
        if self.field is None:
            del self.table.data[self.prefix + key]
        else:
            del self._records.open(key, create=False)[self.field]
        self._keys.discard(key)
        self._records.dirty.add(key)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys


class _Records:
    """The records under one prefix, and which of them changed since the last flush.

    (Keeping a series' record as its JSON bytes between closes was tried: Python
    objects went from 4.9 to 2.8 KB per series by tracemalloc, but the worker's
    resident memory per series grew, 9.2 -> 11.2 KB at 1,000 series and 8.2 -> 12.5 KB
    at 10,000, in one run each of ``benchmarks/throughput.py --only memory``.)
    """

    def __init__(self, table: faust.Table, prefix: str) -> None:
        self.table, self.prefix = table, prefix
        self.dirty: set[str] = set()

    def open(self, key: str, *, create: bool) -> dict[str, Any] | None:
        full = self.prefix + key
        record = self.table.data.get(full)
        if record is None and create:
            record = self.table.data[full] = {}
        return record


_MISSING = object()

# kohta's state table, in flush order: series records, fingerprint chunks, windows
# records, watermarks.
STATE_LAYOUT: dict[str, tuple[str, ...]] = {"s:": ("detector", "alert"), "f:": (), "w:": (), "c:": ()}


class StateTable:
    """One Faust table holding several kinds of state, flushed in a fixed order.

    ``layout`` maps each key prefix, in flush order, to the fields of its records
    (``()`` when the record is the value itself). The prefix whose record marks work
    as done (kohta's windows) comes after the state it depends on. ``partition_of``
    maps a full key (prefix included) to its changelog partition.
    """

    def __init__(
        self, table: faust.Table, partition_of: Callable[[str], int], layout: dict[str, tuple[str, ...]]
    ) -> None:
        self.table = table
        self.partition_of = partition_of
        self._records = {prefix: _Records(table, prefix) for prefix in layout}
        self._views: dict[tuple[str, str | None], StateView] = {}
        for prefix, fields in layout.items():
            for field in fields or (None,):
                self._views[prefix, field] = StateView(table, prefix, field, self._records[prefix])

    def view(self, prefix: str, field: str | None = None) -> StateView:
        return self._views[prefix, field]

    def reindex(self) -> None:
        """Call from the table's ``on_recover`` callback, before anything reads the views:
        learns the keys Faust restored."""
        keys: dict[tuple[str, str | None], set[str]] = {view: set() for view in self._views}
        for full, record in self.table.data.items():
            for prefix in self._records:
                if not full.startswith(prefix):
                    continue
                key = full[len(prefix):]
                if (prefix, None) in keys:
                    keys[prefix, None].add(key)
                else:
                    for field in record:
                        if (prefix, field) in keys:
                            keys[prefix, field].add(key)
                break
        for name, view in self._views.items():
            view._keys = keys[name]

    def flush(self) -> int:
        """Send every record changed since the last flush to the changelog; returns how many."""
        data, sent = self.table.data, 0
        for prefix, records in self._records.items():
            for key in records.dirty:
                full = prefix + key
                value = data.get(full)
                if not value:  # deleted, or a record whose last field was deleted
                    data.pop(full, None)
                    self.table.send_changelog(self.partition_of(full), full, None, value_serializer="raw")
                else:
                    self.table.send_changelog(self.partition_of(full), full, value)
                sent += 1
            records.dirty.clear()
        return sent
