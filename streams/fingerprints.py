"""The event-id fingerprints of a channel's open windows: a short tail in the windows
record, full chunks in records of their own.

A window keeps one fingerprint per event it counted, so that a copy of an event
that comes after a restart is still recognised (streams.engine). Kept whole inside
the channel's windows record, they were written again at every flush: with 150
single-event messages per batch, 118 MB of changelog per 100,000 messages
(``benchmarks/hot_path.py --batch 150``).

Each window's entry in the windows record (``fp``) is ``[full, tail]``: how many
full chunks of :data:`CHUNK` (``windows.fingerprint_chunk``) fingerprints are stored under
``<channel>/<index>/<k>``, and the newest fingerprints (fewer than ``CHUNK``). A
chunk is written once, when it fills. Putting every fingerprint in chunk records
instead (a record per window per flush) cost more in the worker than the bytes it
saved: each record is a producer send.

Chunks are flushed before the windows record (``streams.changelog.STATE_LAYOUT``). A
flush cut short can leave a chunk the stored windows record does not count yet; it
is not read, and is written again when the tail fills once more.

>>> chunks, entries = {}, {}
>>> append(chunks, "chat", 7, entries, list(range(CHUNK + 2)))
>>> sorted(chunks), entries["7"][0], entries["7"][1]
(['chat/7/0'], 1, [128, 129])
>>> stored(chunks, "chat", 7, entries["7"])[-3:]
[127, 128, 129]
>>> chunks["chat/7/1"] = [0] * CHUNK  # written by a flush the windows record never saw
>>> len(stored(chunks, "chat", 7, entries["7"]))
130
>>> drop(chunks, "chat", 7, entries.pop("7"))
>>> chunks
{}
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

# Fingerprints per chunk record (the default of windows.fingerprint_chunk): the tail
# rewritten at every flush holds fewer than this, and a closing window deletes one
# record per this many events it counted.
CHUNK = 128

Chunks = MutableMapping[str, list[int]]
Entry = list[Any]  # [full chunks stored, tail]: JSON-able, kept in the windows record


def chunk_key(channel: str, index: int, k: int) -> str:
    return f"{channel}/{index}/{k}"


def stored(chunks: Chunks, channel: str, index: int, entry: Entry | None) -> list[int]:
    """Window ``index``'s fingerprints, in the order they came."""
    if entry is None:
        return []
    full, tail = entry
    out: list[int] = []
    for k in range(full):
        out += chunks.get(chunk_key(channel, index, k)) or ()
    return out + tail


def append(
    chunks: Chunks, channel: str, index: int, entries: dict[str, Entry], new: list[int], size: int = CHUNK
) -> None:
    """Add ``new`` to window ``index``'s fingerprints; ``entries`` is the windows
    record's ``fp``. A tail that reaches ``size`` becomes a chunk record."""
    entry = entries.setdefault(str(index), [0, []])
    tail = entry[1]
    tail += new
    while len(tail) >= size:
        chunks[chunk_key(channel, index, entry[0])] = tail[:size]
        del tail[:size]
        entry[0] += 1


def drop(chunks: Chunks, channel: str, index: int, entry: Entry) -> None:
    """Delete window ``index``'s chunks: those ``entry`` counts, and any past them
    that a flush cut short left behind."""
    k = 0
    while k < entry[0] or chunk_key(channel, index, k) in chunks:
        chunks.pop(chunk_key(channel, index, k), None)
        k += 1
