"""Creating kohta's topics up front (kafka-python admin), with the partition counts
that co-partitioning needs: the touchpoint topic, the repartition topic and every
table changelog must have the same number of partitions."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.errors import BrokerError, ConfigError
from streams.settings import KohtaSettings

log = logging.getLogger(__name__)


def bootstrap_servers(broker_url: str) -> list[str]:
    """``kafka://a:9092;b:9092`` (Faust's form) → ``["a:9092", "b:9092"]``."""
    hosts = broker_url.split("://", 1)[-1]
    return [h.strip() for h in hosts.replace(";", ",").split(",") if h.strip()]


def _admin(settings: KohtaSettings, timeout: float) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=bootstrap_servers(settings.broker),
                client_id="kohta-admin",
                **settings.security.kafka_python(),
            )
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise BrokerError(f"cannot reach broker {settings.broker}: {exc}") from exc
            time.sleep(0.5)


def ensure_topics(settings: KohtaSettings, timeout: float = 30.0) -> None:
    """Create missing topics; refuse to run on a touchpoint topic with the wrong partition count."""
    topics = settings.topics
    wanted = {
        topics.touchpoints: topics.partitions,
        topics.repartition: topics.partitions,
        topics.alerts: topics.partitions,
        topics.dead_letter: 1,
        topics.control: 1,
        topics.alert_events: 1,
    }
    admin = _admin(settings, timeout)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, count, topics.replication_factor)
            for name, count in wanted.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another worker won the race
            log.info("created topics %s", [t.name for t in missing])
        for name in (topics.touchpoints, topics.repartition):
            described = admin.describe_topics([name])
            found = len(described[0]["partitions"]) if described else 0
            if found and found != topics.partitions:
                raise ConfigError(
                    f"topic {name} has {found} partitions but topics.partitions is "
                    f"{topics.partitions}; they must match for per-channel state to stay put"
                )
    finally:
        admin.close()
