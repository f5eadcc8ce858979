"""Faust tables written the way kohta's flush-before-commit order needs.

Faust writes a table's changelog on every assignment, to the partition of the
event being processed. kohta processes messages in batches, so it keeps writes
local while a batch runs and sends each changed key once at the end
(:meth:`ChangelogMap.flush`), to the partition that owns the key's channel.
The order per batch is: process → flush changelogs → ack the batch's messages;
Faust's commit then flushes the producer before it commits offsets, so an offset
is never committed ahead of the state that absorbed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import faust


class ChangelogMap(MutableMapping[str, Any]):
    def __init__(self, table: faust.Table, partition_of: Callable[[str], int]) -> None:
        self.table = table
        self.partition_of = partition_of
        self._dirty: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        return self.table.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.table.data[key] = value
        self._dirty.add(key)

    def __delitem__(self, key: str) -> None:
        del self.table.data[key]
        self._dirty.add(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.data.keys())

    def __len__(self) -> int:
        return len(self.table.data)

    def flush(self) -> int:
        """Send every key changed since the last flush to its changelog; returns how many."""
        data, sent = self.table.data, 0
        for key in self._dirty:
            value = data.get(key)
            if value is None:
                self.table.send_changelog(self.partition_of(key), key, None, value_serializer="raw")
            else:
                self.table.send_changelog(self.partition_of(key), key, value)
            sent += 1
        self._dirty.clear()
        return sent
