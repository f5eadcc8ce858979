"""Settings: one YAML file plus ``KOHTA_``-prefixed environment overrides.

Precedence, highest first: keyword arguments, environment (``KOHTA_BROKER``,
``KOHTA_WINDOWS__SIZE_SECONDS`` with ``__`` between nested names), the YAML file,
the defaults below. The YAML file is ``--config``, else ``$KOHTA_CONFIG``, else
``config/kohta.yaml`` of this checkout.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from streams.fingerprints import CHUNK, FINGERPRINT_JSON_BYTES
from streams.security import SecuritySettings

# Metric declarations live in their own module; re-exported for callers of settings.
from streams.metric_spec import NAME_PATTERN, AlertTuning, EventFilter, MetricSpec, Target  # noqa: F401

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "kohta.yaml"
# Half of the 1 MiB a Kafka broker accepts per record by default, the rest left to
# the counters and offsets of the same windows record.
MAX_FINGERPRINT_TAIL_BYTES = 512 * 1024


class TopicSettings(BaseModel):
    touchpoints: str = "kohta.touchpoints"
    # Events whose message sits in another partition than their channel's are
    # forwarded here, so that every channel's state lives in exactly one partition.
    repartition: str = "kohta.touchpoints-repartition"
    alerts: str = "kohta.alerts"
    dead_letter: str = "kohta.deadletter"
    control: str = "kohta.control"
    # Alerts on their way to incident grouping: one partition, so that one place
    # sees every alert in order.
    alert_events: str = "kohta.alert-events"
    partitions: int = Field(4, ge=1, le=1024)
    replication_factor: int = Field(1, ge=1)


class WindowSettings(BaseModel):
    size_seconds: float = Field(60.0, gt=0)
    allowed_lateness_seconds: float = Field(120.0, ge=0)
    # A partition with no events for this long (wall clock) lets its event clock
    # follow the wall clock, so that a silent channel still closes its windows.
    idle_timeout_seconds: float = Field(30.0, gt=0)
    tick_interval_seconds: float = Field(1.0, gt=0)
    # Event-id fingerprints per changelog record once a window has this many
    # (streams/fingerprints.py). Smaller: smaller windows records, more records.
    fingerprint_chunk: int = Field(CHUNK, ge=1)

    @model_validator(mode="after")
    def _windows_record_fits(self) -> WindowSettings:
        # Each open window keeps up to fingerprint_chunk - 1 fingerprints in its
        # channel's windows record, which must stay one Kafka record (brokers refuse
        # records over 1 MiB by default).
        open_windows = math.ceil(self.allowed_lateness_seconds / self.size_seconds) + 2
        worst = open_windows * (self.fingerprint_chunk - 1) * FINGERPRINT_JSON_BYTES
        if worst > MAX_FINGERPRINT_TAIL_BYTES:
            raise ValueError(
                f"windows.fingerprint_chunk {self.fingerprint_chunk} with {open_windows} open windows could put "
                f"{worst:,} bytes of fingerprints in one windows record (at most {MAX_FINGERPRINT_TAIL_BYTES:,}): "
                "lower fingerprint_chunk"
            )
        return self


class DetectorSettings(BaseModel):
    model_config = {"extra": "forbid"}

    # seasonal: hour-of-day/weekday profiles, sample-size aware (the default);
    # level: one exponentially weighted level, for series without a rhythm.
    model: Literal["seasonal", "level"] = "seasonal"
    threshold: float = Field(4.0, gt=0)
    warmup: int = Field(30, ge=1)
    # seasonal only
    profile: Literal["day", "weekpart", "week"] | None = None
    timezone: str = "UTC"
    min_n: int = Field(5, ge=1)
    relearn_after: int = Field(30, ge=1)
    # Evidence (log-likelihood ratio) at which the drift test of ratio, share, NPS and
    # mean series alarms (detectors/drift.py); 0 turns it off.
    accumulate: float = Field(11.0, ge=0)
    # level only
    fading_factor: float = Field(0.05, gt=0, le=1)


class AlertSettings(BaseModel):
    open_after_windows: int = Field(1, ge=1)
    resolve_after_windows: int = Field(2, ge=1)
    # Windows after a resolve during which the same series may not open again.
    cooldown_windows: int = Field(0, ge=0)


class IncidentSettings(BaseModel):
    model_config = {"extra": "forbid"}

    # Alerts opening this close in event time on related series share an incident.
    window_seconds: float = Field(1800.0, gt=0)
    # Series related across channels ("channel/metric"); a channel's own series are
    # always related to each other.
    groups: list[list[str]] = Field(default_factory=list)


class ConsumerSettings(BaseModel):
    # Faust's defaults make a group join take ~30 s on the embedded broker; these
    # bring it to a few seconds while still tolerating a busy worker.
    session_timeout_seconds: float = 10.0
    rebalance_timeout_seconds: float = 10.0
    heartbeat_interval_seconds: float = 1.0
    commit_interval_seconds: float = 1.0
    # Messages processed together: their changelog writes are merged, one per key.
    batch_messages: int = Field(500, ge=1)
    # How long a batch waits to fill before it is processed anyway.
    batch_wait_seconds: float = Field(0.05, gt=0)
    # Longest wait of a fetch for new data (Faust hard-codes 1,500 ms). Apache Kafka
    # answers as soon as data arrives, but the embedded broker holds a fetch for
    # most of this wait even when data is there, and an alert takes two hops.
    fetch_max_wait_ms: int = Field(100, ge=1, le=30_000)
    # After this long without progress on a partition (no fetch sent, or its stream
    # idle while messages wait), Faust's consumer logs which part of its path stalled
    # and what commonly causes it (Faust's stream_processing_timeout).
    stall_log_seconds: float = Field(300.0, gt=0)


class ProducerSettings(BaseModel):
    # Bytes per producer batch. (The embedded broker once needed 1, a batch per
    # record, for changelog recovery; streams.log_end made that unneeded.)
    max_batch_bytes: int = Field(16_384, ge=1)
    # How long a record may wait for others to share its produce request. A flush
    # writes its changelog records in a burst; with 0 the first goes alone and the
    # rest follow in small requests, one round trip after another. Apache Kafka's
    # Java producer has defaulted to 5 ms since 4.0. Measured by
    # benchmarks/producer_ab.py (see benchmarks/README.md).
    linger_ms: float = Field(5.0, ge=0)


class KohtaSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOHTA_", env_nested_delimiter="__", extra="forbid"
    )

    app_id: str = "kohta"
    broker: str = "kafka://127.0.0.1:19092"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    data_dir: Path = Path(".kohta")
    log_level: str = "info"
    language: Literal["en", "fi"] = "en"
    # Channels named here always get their own label values and state; others are
    # discovered up to the cap, and past it are counted under `other`.
    channels: list[str] = Field(default_factory=list)
    max_discovered_channels: int = Field(50, ge=0)
    # Touchpoints tracked as their own series per channel; others count as `other`.
    max_touchpoints_per_channel: int = Field(50, ge=0)
    max_message_bytes: int = Field(1_000_000, ge=1024)
    max_batch_events: int = Field(1_000, ge=1)
    # An event stamped further ahead of the worker's clock is rejected: one bogus
    # future timestamp would otherwise push the watermark on and make all else late.
    max_future_seconds: float = Field(300.0, ge=0)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    windows: WindowSettings = Field(default_factory=WindowSettings)
    detector: DetectorSettings = Field(default_factory=DetectorSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    # Faust's own pages that show table contents or internals; off unless asked for.
    web_debug_endpoints: bool = False
    # Allocations between young-generation garbage collections (Python's default is
    # 700); 0 leaves the interpreter's setting alone. See streams/memory.py.
    gc_young_threshold: int = Field(20_000, ge=0)
    metrics: list[MetricSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _metric_names_unique(self) -> KohtaSettings:
        names = [m.name for m in self.metrics]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"metric names must be unique: {sorted(duplicated)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = settings_cls.model_config.get("yaml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


def config_path(path: Path | str | None = None) -> Path | None:
    if path is not None:
        return Path(path)
    if env := os.environ.get("KOHTA_CONFIG"):
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def load_settings(path: Path | str | None = None, **overrides: Any) -> KohtaSettings:
    """Build settings from the YAML file at ``path`` (see module doc) and the environment."""
    chosen = config_path(path)
    if chosen is not None and not chosen.exists():
        raise FileNotFoundError(f"config file not found: {chosen}")

    # pydantic-settings reads the YAML path from the class config, so the chosen
    # file is bound to a throwaway subclass rather than to shared state.
    class _FromFile(KohtaSettings):
        model_config = SettingsConfigDict(yaml_file=chosen)

    return _FromFile(**overrides)
