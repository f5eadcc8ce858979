"""Unit tests for event-time tumbling windows of one channel."""

from __future__ import annotations

import copy

import orjson
import pytest

from streams.events import TouchpointEvent
from streams.metric_book import MetricBook
from streams.settings import MetricSpec
from streams.windowing import (
    MAX_CATCH_UP_WINDOWS,
    ChannelWindows,
    last_closable_index,
    window_index,
)

SIZE = 60.0

BOOK = MetricBook(
    [
        MetricSpec(name="contacts", kind="count", where={"type": ["contact"]}, by_touchpoint=True),
        MetricSpec(
            name="resolution_rate",
            kind="ratio",
            numerator={"type": ["resolved"]},
            denominator={"type": ["contact"]},
        ),
    ]
)


def contact(ts: float, touchpoint: str | None = None, type: str = "contact") -> TouchpointEvent:
    return TouchpointEvent(event_id=f"e{ts}", ts=ts, channel="chat", type=type, touchpoint=touchpoint)


def add(windows: ChannelWindows, e: TouchpointEvent, closable: int | None = None) -> bool:
    return windows.add(e, window_index(e.ts, SIZE), BOOK, closable)


# --- window arithmetic -------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (0.0, 0),
        (59.999, 0),
        (60.0, 1),  # exactly on a boundary: the new window
        (119.999, 1),
        (120.0, 2),
        # Epoch-scale times: 1_700_000_040 is 28_333_334 * 60 exactly.
        (1_700_000_039.5, 28_333_333),
        (1_700_000_040.0, 28_333_334),
    ],
)
def test_window_index(ts: float, expected: int):
    assert window_index(ts, SIZE) == expected


def test_last_closable_index_without_watermark_is_none():
    assert last_closable_index(None, SIZE, 0.0) is None


@pytest.mark.parametrize("lateness", [0.0, 30.0, 120.0])
@pytest.mark.parametrize("i", [0, 1, 5, 28_333_333])
def test_window_closes_once_watermark_reaches_end_plus_lateness(i: int, lateness: float):
    # Window i ends at (i + 1) * size; it may close when the watermark reaches that
    # end plus the allowed lateness, not a moment before.
    due = (i + 1) * SIZE + lateness
    assert last_closable_index(due, SIZE, lateness) == i
    assert last_closable_index(due - 0.5, SIZE, lateness) == i - 1


def test_last_closable_index_examples():
    # size 60, lateness 0: at watermark 0 nothing can close (window 0 ends at 60).
    assert last_closable_index(0.0, SIZE, 0.0) == -1
    assert last_closable_index(59.9, SIZE, 0.0) == -1
    assert last_closable_index(60.0, SIZE, 0.0) == 0
    # lateness 120 holds window 0 open until watermark 180.
    assert last_closable_index(179.9, SIZE, 120.0) == -1
    assert last_closable_index(180.0, SIZE, 120.0) == 0


# --- adding events -----------------------------------------------------------


def test_first_event_without_clock_opens_its_window():
    windows = ChannelWindows("chat")
    assert add(windows, contact(130.0, "billing"))
    assert windows.state["next_close"] == 2
    assert windows.state["open"] == {"2": {"contacts": [1], "contacts@billing": [1], "resolution_rate": [0, 1]}}
    assert windows.state["series"] == ["contacts@billing"]


def test_out_of_order_event_before_a_new_channels_first_window_is_accepted():
    windows = ChannelWindows("chat")
    assert add(windows, contact(7 * SIZE + 1), closable=4)
    # Window 6 is neither closed nor closable (only windows up to 4 are): by the
    # module's rule an event for it is not late, although it is older than the
    # channel's first event.
    assert add(windows, contact(6 * SIZE + 1), closable=4)
    closed = windows.close_through(7, SIZE, BOOK)
    assert [(w.index, w.counts["contacts"]) for w in closed][-2:] == [(6, [1]), (7, [1])]


def test_new_channel_reports_no_windows_before_its_first_event():
    windows = ChannelWindows("chat")
    # Windows up to 4 may close; the channel's first event is in window 7. Windows 5
    # and 6 saw nothing of this channel: reporting them as "0 contacts" would teach
    # the detector a level the channel never had.
    assert add(windows, contact(7 * SIZE + 1), closable=4)
    closed = windows.close_through(8, SIZE, BOOK)
    assert [w.index for w in closed] == [7, 8]


def test_event_for_closed_window_is_refused_and_not_counted():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0))
    windows.close_through(0, SIZE, BOOK)
    before = copy.deepcopy(windows.state)
    assert not add(windows, contact(30.0))  # window 0 is closed
    assert windows.state == before


def test_event_for_closable_window_is_refused_even_before_it_closed():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0), closable=-1)
    # The watermark now allows windows 0 and 1 to close: both are already late.
    assert not add(windows, contact(20.0), closable=1)
    assert not add(windows, contact(90.0), closable=1)
    assert windows.state["open"]["0"]["contacts"] == [1]
    assert "1" not in windows.state["open"]
    # Window 2 is not closable yet.
    assert add(windows, contact(150.0), closable=1)


def test_late_first_event_leaves_fresh_state_untouched():
    windows = ChannelWindows("chat")
    assert not add(windows, contact(10.0), closable=3)
    assert windows.state == {"next_close": None, "closed_through": None, "open": {}, "series": []}


def test_events_count_into_their_own_windows():
    windows = ChannelWindows("chat")
    for ts in [0.0, 59.0, 60.0, 61.0, 62.0, 125.0]:
        add(windows, contact(ts))
    opened = windows.state["open"]
    assert {k: v["contacts"] for k, v in opened.items()} == {"0": [2], "1": [3], "2": [1]}


def test_out_of_order_event_within_lateness_is_accepted():
    windows = ChannelWindows("chat")
    add(windows, contact(130.0), closable=0)
    # next_close is 1 (window 0 is closable); an older event for window 1 still counts.
    assert add(windows, contact(70.0), closable=0)
    assert windows.state["next_close"] == 1
    assert windows.state["open"]["1"]["contacts"] == [1]


# --- closing -----------------------------------------------------------------


def test_close_through_closes_every_window_oldest_first_including_empty_ones():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0))  # window 0
    add(windows, contact(200.0))  # window 3
    add(windows, contact(201.0, type="resolved"))
    closed = windows.close_through(3, SIZE, BOOK)
    assert [w.index for w in closed] == [0, 1, 2, 3]
    assert [(w.start, w.end) for w in closed] == [(0, 60), (60, 120), (120, 180), (180, 240)]
    assert all(w.channel == "chat" for w in closed)
    assert [w.counts for w in closed] == [
        {"contacts": [1], "resolution_rate": [0, 1]},
        {"contacts": [0], "resolution_rate": [0, 0]},  # empty: zeros, not missing
        {"contacts": [0], "resolution_rate": [0, 0]},
        {"contacts": [1], "resolution_rate": [1, 1]},
    ]
    assert windows.state["next_close"] == 4
    assert windows.state["open"] == {}


def test_close_through_leaves_newer_windows_open():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0))
    add(windows, contact(130.0))
    closed = windows.close_through(1, SIZE, BOOK)
    assert [w.index for w in closed] == [0, 1]
    assert windows.state["next_close"] == 2
    assert list(windows.state["open"]) == ["2"]
    # Closing again up to the same index closes nothing.
    assert windows.close_through(1, SIZE, BOOK) == []


def test_empty_windows_report_touchpoint_series_seen_earlier():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0, "billing"))
    windows.close_through(0, SIZE, BOOK)
    # Window 1 gets nothing; billing was seen before, so it is reported as zero.
    (closed,) = windows.close_through(1, SIZE, BOOK)
    assert closed.counts == {"contacts": [0], "resolution_rate": [0, 0], "contacts@billing": [0]}


def test_close_through_nothing_to_close():
    windows = ChannelWindows("chat")
    assert windows.close_through(5, SIZE, BOOK) == []  # never saw an event
    add(windows, contact(130.0))  # window 2
    assert windows.close_through(None, SIZE, BOOK) == []
    assert windows.close_through(1, SIZE, BOOK) == []  # older than next_close
    assert windows.state["next_close"] == 2


def test_catch_up_is_capped_and_skips_the_oldest_windows():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0))  # window 0
    last = MAX_CATCH_UP_WINDOWS + 10
    # Windows 0..last are due: last + 1 of them, more than the cap. Only the newest
    # MAX_CATCH_UP_WINDOWS close, i.e. from last - MAX + 1 = 11 on.
    add(windows, contact(10 * SIZE + 1))  # window 10: skipped with its counts
    add(windows, contact(11 * SIZE + 1))  # window 11: the oldest one kept
    closed = windows.close_through(last, SIZE, BOOK)
    assert len(closed) == MAX_CATCH_UP_WINDOWS
    assert closed[0].index == 11 and closed[-1].index == last
    assert closed[0].counts["contacts"] == [1]
    assert windows.state["next_close"] == last + 1
    assert windows.state["open"] == {}


def test_catch_up_at_exactly_the_cap_skips_nothing():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0))
    closed = windows.close_through(MAX_CATCH_UP_WINDOWS - 1, SIZE, BOOK)
    assert len(closed) == MAX_CATCH_UP_WINDOWS
    assert closed[0].index == 0 and closed[0].counts["contacts"] == [1]


# --- state -------------------------------------------------------------------


def test_state_round_trips_through_json():
    def run(through_json: bool) -> list:
        windows = ChannelWindows("chat")
        add(windows, contact(10.0, "billing"))
        add(windows, contact(70.0))
        if through_json:
            windows = ChannelWindows("chat", orjson.loads(orjson.dumps(windows.state)))
        add(windows, contact(75.0, "delivery"))
        closed = windows.close_through(2, SIZE, BOOK)
        return [(w.index, w.counts) for w in closed] + [windows.state]

    assert run(through_json=True) == run(through_json=False)


def test_state_is_json_able_after_adding_and_closing():
    windows = ChannelWindows("chat")
    add(windows, contact(10.0, "billing"))
    add(windows, contact(100.0))
    windows.close_through(0, SIZE, BOOK)
    assert orjson.loads(orjson.dumps(windows.state)) == windows.state
