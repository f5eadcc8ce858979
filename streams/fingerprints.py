"""The event-id fingerprints of a channel's open windows, in chunked records of their own.

A window keeps one fingerprint per event it counted, so that a copy of an event
that comes after a restart is still recognised (streams.engine). Inside the
channel's windows record they were written again whole at every flush: with 150
single-event messages per batch, 118 MB of changelog per 100,000 messages, and a
third of kohta's own time per message (``benchmarks/hot_path.py --batch 150``).

So they live in records of their own, keyed ``<channel>/<index>/<k>``, each a list
of at most :data:`CHUNK` fingerprints, filled in order: a flush writes again only
the chunks that grew, a few hundred bytes each.

The windows record keeps how many fingerprints each open window has (``fpn``).
Chunks are flushed before it (``streams.changelog.STATE_LAYOUT``), so a flush cut
short can leave a chunk longer than the windows record says; only the first
``fpn`` fingerprints are read back, those of the events that record counted.

>>> chunks = {}
>>> append(chunks, "chat", 7, 0, list(range(CHUNK + 2)))
130
>>> sorted(chunks), len(chunks["chat/7/1"])
(['chat/7/0', 'chat/7/1'], 2)
>>> chunks["chat/7/1"].append(999)  # written by a flush the windows record never saw
>>> stored(chunks, "chat", 7, 130)[-3:]
[127, 128, 129]
>>> drop(chunks, "chat", 7, 130)
>>> chunks
{}
"""

from __future__ import annotations

from collections.abc import MutableMapping

# Rewritten whole while it fills: small enough that a flush writes little, large
# enough that a closing window deletes few records (1 per 128 events counted).
CHUNK = 128

Chunks = MutableMapping[str, list[int]]


def chunk_key(channel: str, index: int, k: int) -> str:
    return f"{channel}/{index}/{k}"


def stored(chunks: Chunks, channel: str, index: int, count: int) -> list[int]:
    """The first ``count`` fingerprints of window ``index``, in the order they came."""
    out: list[int] = []
    for k in range(-(-count // CHUNK)):
        out += chunks.get(chunk_key(channel, index, k)) or ()
    return out[:count]


def append(chunks: Chunks, channel: str, index: int, count: int, new: list[int]) -> int:
    """Store ``new`` after the first ``count`` fingerprints of window ``index``; returns
    the new count. Anything stored past ``count`` (a flush cut short) is overwritten."""
    k, used = divmod(count, CHUNK)
    start = 0
    while start < len(new):
        key = chunk_key(channel, index, k)
        chunk = (chunks.get(key) or [])[:used]
        end = start + CHUNK - used
        chunk += new[start:end]
        chunks[key] = chunk  # (re)assigned: the table sends it at the next flush
        start, k, used = end, k + 1, 0
    return count + len(new)


def drop(chunks: Chunks, channel: str, index: int, count: int) -> None:
    """Delete window ``index``'s chunks: those ``count`` needs, and any past them that a
    flush cut short left behind."""
    k, needed = 0, -(-count // CHUNK)
    while k < needed or chunk_key(channel, index, k) in chunks:
        chunks.pop(chunk_key(channel, index, k), None)
        k += 1
