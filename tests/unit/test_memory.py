"""The worker's garbage-collector tuning (streams.memory.tune_garbage_collector)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.memory import tune_garbage_collector


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_sets_the_young_threshold_and_freezes_what_exists(restored_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    tune_garbage_collector(20_000)
    assert gc.get_threshold() == (20_000, 10, 10)  # the older generations' ratios kept
    assert gc.get_freeze_count() > 0


def test_zero_leaves_the_interpreter_alone(restored_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    frozen = gc.get_freeze_count()
    tune_garbage_collector(0)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == frozen


def test_the_default_setting_tunes(restored_gc: None) -> None:
    from streams.settings import KohtaSettings

    assert KohtaSettings().gc_young_threshold > 700
