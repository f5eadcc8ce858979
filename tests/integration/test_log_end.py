"""The changelog ends Faust's recovery reads up to, checked by a fetch (streams.log_end)."""

from __future__ import annotations

import pytest
from faust.types import TP
from kafka.admin import KafkaAdminClient, NewTopic

from streams.log_end import fetched_ends
from tests.integration.kafka_helpers import produce_one_batch

pytestmark = pytest.mark.integration


def _produce_batches(bootstrap: str, topic: str, sizes: list[int]) -> list[list[int]]:
    """Each size's records sent together, so that each becomes one producer batch."""
    return [produce_one_batch(bootstrap, topic, [(0, None, b"x")] * size) for size in sizes]


def test_a_reported_end_short_of_the_last_batch_is_raised_to_the_fetched_high_watermark(broker):
    topic = "log-end-batches"
    KafkaAdminClient(bootstrap_servers=broker.bootstrap).create_topics([NewTopic(topic, 2, 1)])
    batches = _produce_batches(broker.bootstrap, topic, [1, 5, 7])
    assert [len(set(b)) for b in batches] == [1, 5, 7]
    true_end = batches[-1][-1] + 1
    # What Faust's recovery is handed when the broker counts the last batch as one
    # record (the embedded broker does), and a partition with nothing in it.
    short = {TP(topic, 0): batches[-1][0] + 1, TP(topic, 1): 0}

    ends = fetched_ends(short, bootstrap_servers=[broker.bootstrap])

    assert ends == {TP(topic, 0): true_end, TP(topic, 1): 0}


def test_a_right_end_is_kept(broker):
    topic = "log-end-right"
    KafkaAdminClient(bootstrap_servers=broker.bootstrap).create_topics([NewTopic(topic, 1, 1)])
    batches = _produce_batches(broker.bootstrap, topic, [1, 1, 1])
    end = batches[-1][-1] + 1

    assert fetched_ends({TP(topic, 0): end}, bootstrap_servers=[broker.bootstrap]) == {TP(topic, 0): end}
