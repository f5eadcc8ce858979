"""Unit tests for settings: the shipped YAML, precedence of sources, metric validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from streams.settings import DEFAULT_CONFIG, KohtaSettings, MetricSpec, load_settings

# A small config whose values all differ from the class defaults, so that a test can
# tell which source a value came from.
SMALL_CONFIG = {
    "broker": "kafka://from-yaml:1",
    "windows": {"size_seconds": 10, "allowed_lateness_seconds": 7},
    "detector": {"threshold": 3.0},
    "metrics": [{"name": "visits", "kind": "count", "where": {"type": ["visit"]}}],
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KOHTA_* variable of the surrounding shell may leak into these tests."""
    for name in list(os.environ):
        if name.startswith("KOHTA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    path = tmp_path / "kohta.yaml"
    path.write_text(yaml.safe_dump(SMALL_CONFIG))
    return path


def write_metrics(tmp_path: Path, metrics: list[dict]) -> Path:
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump({"metrics": metrics}))
    return path


# --- the shipped config ------------------------------------------------------


def test_shipped_config_loads_and_declares_count_and_ratio_metrics():
    settings = load_settings(DEFAULT_CONFIG)
    kinds = {m.kind for m in settings.metrics}
    assert {"count", "ratio"} <= kinds
    names = [m.name for m in settings.metrics]
    assert len(names) == len(set(names))


def test_shipped_config_is_the_default_when_nothing_is_named():
    # With no path and no $KOHTA_CONFIG, the checkout's config/kohta.yaml is read:
    # the class defaults alone declare no metrics at all.
    assert KohtaSettings().metrics == []
    assert load_settings().metrics == load_settings(DEFAULT_CONFIG).metrics != []


def test_yaml_values_override_class_defaults(small_config: Path):
    settings = load_settings(small_config)
    assert settings.broker == "kafka://from-yaml:1"
    assert settings.windows.size_seconds == 10.0
    assert settings.windows.allowed_lateness_seconds == 7.0
    assert settings.detector.threshold == 3.0
    # Keys the file does not name keep their defaults.
    assert settings.windows.idle_timeout_seconds == 30.0


# --- precedence --------------------------------------------------------------


def test_env_overrides_beat_yaml(small_config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOHTA_BROKER", "kafka://from-env:2")
    monkeypatch.setenv("KOHTA_WINDOWS__SIZE_SECONDS", "300")
    settings = load_settings(small_config)
    assert settings.broker == "kafka://from-env:2"
    assert settings.windows.size_seconds == 300.0
    # A nested env override replaces one key, not the whole section.
    assert settings.windows.allowed_lateness_seconds == 7.0


def test_nested_env_override_of_another_section(small_config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOHTA_DETECTOR__THRESHOLD", "6.5")
    monkeypatch.setenv("KOHTA_TOPICS__PARTITIONS", "12")
    settings = load_settings(small_config)
    assert settings.detector.threshold == 6.5
    assert settings.topics.partitions == 12


def test_env_without_prefix_is_ignored(small_config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BROKER", "kafka://no-prefix:3")
    assert load_settings(small_config).broker == "kafka://from-yaml:1"


def test_keyword_overrides_beat_env(small_config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOHTA_BROKER", "kafka://from-env:2")
    monkeypatch.setenv("KOHTA_WINDOWS__SIZE_SECONDS", "300")
    settings = load_settings(small_config, broker="kafka://kw:4", windows={"size_seconds": 5})
    assert settings.broker == "kafka://kw:4"
    assert settings.windows.size_seconds == 5.0
    # The keyword dict is merged into the other sources, not a replacement section.
    assert settings.windows.allowed_lateness_seconds == 7.0


def test_invalid_env_value_is_refused(small_config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOHTA_WINDOWS__SIZE_SECONDS", "0")  # must be > 0
    with pytest.raises(ValidationError):
        load_settings(small_config)


# --- which file --------------------------------------------------------------


def test_missing_config_file_raises(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "nope.yaml")


def test_kohta_config_env_names_the_file(small_config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOHTA_CONFIG", str(small_config))
    settings = load_settings()
    assert settings.broker == "kafka://from-yaml:1"
    assert [m.name for m in settings.metrics] == ["visits"]


def test_missing_file_named_by_kohta_config_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOHTA_CONFIG", str(tmp_path / "gone.yaml"))
    with pytest.raises(FileNotFoundError):
        load_settings()


def test_explicit_path_beats_kohta_config(small_config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOHTA_CONFIG", str(small_config))
    assert load_settings(DEFAULT_CONFIG).broker != "kafka://from-yaml:1"


# --- metric validation -------------------------------------------------------


def test_valid_count_and_ratio_metrics_are_accepted():
    count = MetricSpec(name="visits", kind="count", where={"type": ["visit"]})
    ratio = MetricSpec(
        name="conversion_rate",
        kind="ratio",
        numerator={"type": ["conversion"]},
        denominator={"type": ["visit"]},
    )
    assert count.where.type == ["visit"] and ratio.denominator.type == ["visit"]


@pytest.mark.parametrize(
    "spec",
    [
        # a count takes `where` only
        {"name": "m", "kind": "count", "where": {"type": ["a"]}, "numerator": {"type": ["b"]}},
        {"name": "m", "kind": "count", "where": {"type": ["a"]}, "denominator": {"type": ["b"]}},
        {"name": "m", "kind": "count"},
        # a ratio takes numerator and denominator, and no `where`
        {"name": "m", "kind": "ratio", "numerator": {"type": ["a"]}},
        {"name": "m", "kind": "ratio", "denominator": {"type": ["a"]}},
        {
            "name": "m",
            "kind": "ratio",
            "where": {"type": ["a"]},
            "numerator": {"type": ["a"]},
            "denominator": {"type": ["b"]},
        },
        # unknown kind, unknown key, unknown filter field
        {"name": "m", "kind": "gauge", "where": {"type": ["a"]}},
        {"name": "m", "kind": "count", "where": {"type": ["a"]}, "colour": "red"},
        {"name": "m", "kind": "count", "where": {"colour": ["red"]}},
    ],
    ids=[
        "count-with-numerator",
        "count-with-denominator",
        "count-without-where",
        "ratio-without-denominator",
        "ratio-without-numerator",
        "ratio-with-where",
        "unknown-kind",
        "unknown-key",
        "unknown-filter-field",
    ],
)
def test_metric_with_wrong_filters_for_its_kind_is_refused(spec: dict):
    with pytest.raises(ValidationError):
        MetricSpec(**spec)


@pytest.mark.parametrize("name", ["Visits", "visit-count", "visits rate", "", "x" * 65, "visits@web"])
def test_metric_name_outside_pattern_is_refused(name: str):
    with pytest.raises(ValidationError):
        MetricSpec(name=name, kind="count", where={"type": ["visit"]})


def test_metric_name_at_pattern_limits_is_accepted():
    assert MetricSpec(name="x" * 64, kind="count", where={"type": ["v"]}).name == "x" * 64
    assert MetricSpec(name="a_1", kind="count", where={"type": ["v"]}).name == "a_1"


def test_duplicate_metric_names_are_refused(tmp_path: Path):
    metric = {"name": "visits", "kind": "count", "where": {"type": ["visit"]}}
    path = write_metrics(tmp_path, [metric, dict(metric, where={"type": ["other"]})])
    with pytest.raises(ValidationError, match="unique"):
        load_settings(path)


def test_invalid_metric_in_yaml_file_is_refused(tmp_path: Path):
    path = write_metrics(tmp_path, [{"name": "rate", "kind": "ratio", "numerator": {"type": ["a"]}}])
    with pytest.raises(ValidationError):
        load_settings(path)


def test_applies_to_respects_channels():
    everywhere = MetricSpec(name="m", kind="count", where={"type": ["a"]})
    some = MetricSpec(name="m", kind="count", where={"type": ["a"]}, channels=["web"])
    assert everywhere.applies_to("anything")
    assert some.applies_to("web") and not some.applies_to("chat")


def test_a_metric_may_set_its_own_drift_threshold():
    from streams.detection import new_detector
    from streams.settings import DetectorSettings

    tuning = DetectorSettings(accumulate=11.0)
    own = MetricSpec(name="nps", kind="nps", where={"survey": ["nps"]}, accumulate=10.0)
    default = MetricSpec(name="ces", kind="mean", field="score", where={"survey": ["ces"]})
    assert new_detector(own, tuning, 60.0).accumulate == 10.0
    assert new_detector(default, tuning, 60.0).accumulate == 11.0
    assert new_detector(own.model_copy(update={"accumulate": 0.0}), tuning, 60.0)._drift is None
    with pytest.raises(ValidationError):
        MetricSpec(name="nps", kind="nps", where={"survey": ["nps"]}, accumulate=-1.0)


def test_shipped_nps_metric_has_the_per_day_calibrated_drift_threshold():
    nps = next(m for m in load_settings(DEFAULT_CONFIG).metrics if m.name == "nps")
    assert nps.accumulate == 10.0


def test_a_fingerprint_chunk_that_could_outgrow_a_kafka_record_is_refused():
    # 62 open windows (an hour's lateness over 1-minute windows) of up to 2047 fingerprints each.
    with pytest.raises(ValidationError, match="fingerprint_chunk 2048 with 62 open windows"):
        load_settings(windows={"allowed_lateness_seconds": 3600, "fingerprint_chunk": 2048})
    # The same lateness with smaller chunks, and the shipped windows with larger ones, fit.
    hour_late = load_settings(windows={"allowed_lateness_seconds": 3600, "fingerprint_chunk": 256})
    assert hour_late.windows.fingerprint_chunk == 256
    assert load_settings(windows={"fingerprint_chunk": 2048}).windows.fingerprint_chunk == 2048
