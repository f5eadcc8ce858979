"""Which partition owns a channel.

Every piece of per-channel state lives in one partition: the one the Kafka default
partitioner (murmur2 of the key, as in the Java client, kafka-python and aiokafka)
picks for the channel name. Events found anywhere else are forwarded there.
"""

from functools import lru_cache

from kafka.partitioner.default import murmur2


@lru_cache(maxsize=65_536)
def partition_for(channel: str, partitions: int) -> int:
    """The partition a producer keying by ``channel`` writes to.

    >>> partition_for("webshop", 4) == partition_for("webshop", 4)
    True
    >>> 0 <= partition_for("chat", 4) < 4
    True
    """
    return (murmur2(channel.encode()) & 0x7FFFFFFF) % partitions


def state_key_partition(full_key: str, partitions: int) -> int:
    """The changelog partition of a key of kohta's state table (streams.changelog):
    a watermark's (``c:<partition>``) is its partition; window (``w:<channel>``),
    series (``s:<channel>/<metric>…``) and fingerprint (``f:<channel>/…``) keys go
    with their channel.

    >>> state_key_partition("c:3", 4)
    3
    >>> state_key_partition("s:chat/contact_volume", 4) == partition_for("chat", 4)
    True
    """
    prefix, key = full_key[:2], full_key[2:]
    if prefix == "c:":
        return int(key)
    return partition_for(key.split("/", 1)[0], partitions)
