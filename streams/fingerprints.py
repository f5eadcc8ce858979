"""The event-id fingerprints of a channel's open windows: a short tail in the windows
record, full chunks in records of their own.

A window keeps one fingerprint per event it counted, so that a copy of an event
that comes after a restart is still recognised (streams.engine). Kept whole inside
the channel's windows record, they were written again at every flush: with 150
single-event messages per batch, 118 MB of changelog per 100,000 messages
(``benchmarks/hot_path.py --batch 150``).

Each window's entry in the windows record (``fp``) is ``[full, tail]``: how many
chunks are stored under ``<channel>/<index>/<k>``, and the newest fingerprints (fewer
than :data:`CHUNK`, ``windows.fingerprint_chunk``). When the tail reaches ``CHUNK``,
all of it becomes one chunk record (several past :data:`MAX_CHUNK_FINGERPRINTS`),
written once. So a flush that brings a window thousands of events (batch envelopes)
writes one record for them, not one per ``CHUNK``: each record is a producer send, and
the worker's cost per record, not per byte, is what counts (measured in
``benchmarks/README.md``). Putting every fingerprint in chunk records instead (a
record per window per flush, no tail) cost more than the bytes it saved.

Chunks are flushed before the windows record (``streams.changelog.STATE_LAYOUT``). A
flush cut short can leave a chunk the stored windows record does not count yet; it
is not read, and is written again when the tail fills once more.

>>> chunks, entries = {}, {}
>>> append(chunks, "chat", 7, entries, list(range(CHUNK - 1)))
>>> sorted(chunks), entries["7"][0], len(entries["7"][1])  # a tail: no chunk yet
([], 0, 127)
>>> append(chunks, "chat", 7, entries, list(range(CHUNK - 1, CHUNK + 2)))
>>> sorted(chunks), entries["7"][0], entries["7"][1], len(chunks["chat/7/0"])
(['chat/7/0'], 1, [], 130)
>>> stored(chunks, "chat", 7, entries["7"])[-3:]
[127, 128, 129]
>>> chunks["chat/7/1"] = [0] * CHUNK  # written by a flush the windows record never saw
>>> len(stored(chunks, "chat", 7, entries["7"]))
130
>>> big = {}
>>> append(big, "web", 1, entries, list(range(2 * MAX_CHUNK_FINGERPRINTS + 5)))
>>> [len(big[key]) for key in sorted(big)], entries["1"]
([8192, 8192], [2, [16384, 16385, 16386, 16387, 16388]])
>>> drop(chunks, "chat", 7, entries.pop("7"))
>>> chunks
{}
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

# The tail's limit (the default of windows.fingerprint_chunk): the tail rewritten at
# every flush holds fewer than this, and a chunk record at least this many.
CHUNK = 128
# A 53-bit fingerprint in JSON: up to 16 digits and a separator.
FINGERPRINT_JSON_BYTES = 17
# At most this many fingerprints in one chunk record (about 140 KB of JSON), so that a
# record stays far below the 1 MiB a Kafka broker accepts by default.
MAX_CHUNK_FINGERPRINTS = 8192

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
    record's ``fp``. A tail that reaches ``size`` becomes a chunk record, whole."""
    entry = entries.setdefault(str(index), [0, []])
    tail = entry[1]
    tail += new
    while len(tail) >= size:
        take = min(len(tail), MAX_CHUNK_FINGERPRINTS)
        chunks[chunk_key(channel, index, entry[0])] = tail[:take]
        del tail[:take]
        entry[0] += 1


def drop(chunks: Chunks, channel: str, index: int, entry: Entry) -> None:
    """Delete window ``index``'s chunks: those ``entry`` counts, and any past them
    that a flush cut short left behind."""
    k = 0
    while k < entry[0] or chunk_key(channel, index, k) in chunks:
        chunks.pop(chunk_key(channel, index, k), None)
        k += 1
