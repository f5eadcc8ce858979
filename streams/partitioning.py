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
