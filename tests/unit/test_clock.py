"""Unit tests for per-partition watermarks and their idle fallback to the wall clock."""

from __future__ import annotations

from streams.clock import PartitionClocks

IDLE = 30.0
WALL = 5_000.0  # wall time of the first event; event times are unrelated to it


def test_unknown_partition_has_no_watermark():
    clocks = PartitionClocks(IDLE)
    assert not clocks.knows(0)
    assert clocks.watermark(0, WALL) is None


def test_watermark_is_highest_event_time_and_never_moves_back():
    clocks = PartitionClocks(IDLE)
    assert clocks.observe(0, 1_000.0, WALL) == 1_000.0
    assert clocks.observe(0, 1_010.0, WALL + 1) == 1_010.0
    # An older event (out of order) does not pull the watermark back.
    assert clocks.observe(0, 990.0, WALL + 2) == 1_010.0
    assert clocks.watermark(0, WALL + 3) == 1_010.0
    assert clocks.knows(0)


def test_partitions_have_independent_clocks():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    clocks.observe(1, 50.0, WALL)
    assert clocks.watermark(0, WALL) == 1_000.0
    assert clocks.watermark(1, WALL) == 50.0


def test_no_idle_advance_before_idle_timeout():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    assert clocks.watermark(0, WALL + 10.0) == 1_000.0
    assert clocks.watermark(0, WALL + IDLE - 0.001) == 1_000.0


def test_after_idle_timeout_watermark_follows_wall_clock_from_last_event():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    # Silent for exactly idle_timeout: the watermark catches up with the wall time
    # that passed since the last event (30 s), not just the time since the timeout.
    assert clocks.watermark(0, WALL + 30.0) == 1_030.0
    # And keeps following it second by second on later calls.
    assert clocks.watermark(0, WALL + 31.0) == 1_031.0
    assert clocks.watermark(0, WALL + 45.5) == 1_045.5
    assert clocks.watermark(0, WALL + 100.0) == 1_100.0
    # Asking again at the same wall time changes nothing.
    assert clocks.watermark(0, WALL + 100.0) == 1_100.0


def test_first_idle_check_long_after_the_last_event_covers_the_whole_silence():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    assert clocks.watermark(0, WALL + 600.0) == 1_600.0


def test_event_resets_idleness():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    assert clocks.watermark(0, WALL + 40.0) == 1_040.0
    # An event stamped behind the advanced watermark does not lower it, but it ends
    # the silence: no idle advance until idle_timeout after this event.
    assert clocks.observe(0, 1_020.0, WALL + 50.0) == 1_040.0
    assert clocks.watermark(0, WALL + 60.0) == 1_040.0
    assert clocks.watermark(0, WALL + 79.9) == 1_040.0
    # Idle again from WALL + 50: at WALL + 80 the watermark is 30 s further on.
    assert clocks.watermark(0, WALL + 80.0) == 1_070.0


def test_event_ahead_of_idle_watermark_moves_it_on():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    clocks.watermark(0, WALL + 40.0)  # 1040
    assert clocks.observe(0, 1_200.0, WALL + 41.0) == 1_200.0


def test_watermark_never_moves_back_when_wall_clock_steps_back():
    # time.time() may step back (NTP). The idle watermark must not follow it back.
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    assert clocks.watermark(0, WALL + 100.0) == 1_100.0
    assert clocks.watermark(0, WALL + 50.0) == 1_100.0
    # Once the wall clock is past where it was, the watermark follows it again.
    assert clocks.watermark(0, WALL + 120.0) == 1_120.0


def test_seed_sets_an_unknown_clock():
    clocks = PartitionClocks(IDLE)
    clocks.seed(0, 2_000.0, WALL)
    assert clocks.knows(0)
    assert clocks.watermark(0, WALL) == 2_000.0
    # A seeded clock counts as having just seen an event: idle from the seed on.
    assert clocks.watermark(0, WALL + IDLE - 1) == 2_000.0
    assert clocks.watermark(0, WALL + IDLE) == 2_000.0 + IDLE


def test_seed_does_not_override_a_known_clock():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    clocks.seed(0, 5_000.0, WALL + 1)
    assert clocks.watermark(0, WALL + 2) == 1_000.0


def test_seed_without_watermark_leaves_clock_unknown():
    clocks = PartitionClocks(IDLE)
    clocks.seed(0, None, WALL)
    assert not clocks.knows(0)
    assert clocks.watermark(0, WALL) is None


def test_forget_drops_the_clock():
    clocks = PartitionClocks(IDLE)
    clocks.observe(0, 1_000.0, WALL)
    clocks.forget(0)
    assert not clocks.knows(0)
    clocks.forget(0)  # forgetting twice is harmless
    assert clocks.observe(0, 10.0, WALL) == 10.0
