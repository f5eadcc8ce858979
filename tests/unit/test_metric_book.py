"""Unit tests for the metric book: which counters an event bumps, and their values."""

from __future__ import annotations

import pytest

from streams.events import TouchpointEvent
from streams.metric_book import MetricBook, series_key, split_series_key
from streams.settings import MetricSpec


def event(type: str, channel: str = "web", touchpoint: str | None = None, **fields) -> TouchpointEvent:
    return TouchpointEvent(
        event_id="e", ts=0.0, channel=channel, type=type, touchpoint=touchpoint, **fields
    )


def fill(book: MetricBook, events) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for e in events:
        book.accumulate(counts, e)
    return counts


VISITS = MetricSpec(name="visits", kind="count", where={"type": ["visit"]})
CONVERSION = MetricSpec(
    name="conversion_rate",
    kind="ratio",
    numerator={"type": ["conversion"]},
    denominator={"type": ["visit"]},
)


# --- series keys -------------------------------------------------------------


def test_series_key_round_trips():
    assert series_key("visits", None) == "visits"
    assert series_key("visits", "checkout") == "visits@checkout"
    assert split_series_key("visits@checkout") == ("visits", "checkout")
    assert split_series_key("visits") == ("visits", None)


# --- counts ------------------------------------------------------------------


def test_count_takes_only_events_of_its_type():
    book = MetricBook([VISITS])
    counts = fill(book, [event("visit"), event("click"), event("visit"), event("purchase")])
    # Two visits; a count uses the first counter only.
    assert counts == {"visits": [2, 0]}


def test_event_matching_nothing_adds_no_series():
    book = MetricBook([VISITS])
    assert fill(book, [event("click")]) == {}


def test_filter_lists_several_allowed_values():
    book = MetricBook([MetricSpec(name="contacts", kind="count", where={"type": ["chat", "call"]})])
    counts = fill(book, [event("chat"), event("call"), event("email")])
    assert counts == {"contacts": [2, 0]}


def test_multi_field_filter_needs_every_field_to_match():
    spec = MetricSpec(
        name="checkout_visits",
        kind="count",
        where={"type": ["visit"], "touchpoint": ["checkout"]},
    )
    book = MetricBook([spec])
    counts = fill(
        book,
        [
            event("visit", touchpoint="checkout"),  # both match: counted
            event("visit", touchpoint="home"),  # wrong touchpoint
            event("click", touchpoint="checkout"),  # wrong type
            event("visit"),  # no touchpoint at all
        ],
    )
    assert counts == {"checkout_visits": [1, 0]}


def test_segment_and_survey_filters():
    spec = MetricSpec(
        name="b2b_nps",
        kind="count",
        where={"type": ["response"], "segment": ["b2b"], "survey": ["nps"]},
    )
    book = MetricBook([spec])
    counts = fill(
        book,
        [
            event("response", segment="b2b", survey="nps"),
            event("response", segment="b2c", survey="nps"),
            event("response", segment="b2b", survey="csat"),
            event("response", segment="b2b", survey="nps"),
        ],
    )
    assert counts == {"b2b_nps": [2, 0]}


# --- ratios ------------------------------------------------------------------


def test_ratio_counts_numerator_and_denominator_separately():
    book = MetricBook([CONVERSION])
    counts = fill(book, [event("visit")] * 5 + [event("conversion")] * 2 + [event("click")])
    assert counts == {"conversion_rate": [2, 5]}


def test_event_in_both_numerator_and_denominator_bumps_both():
    spec = MetricSpec(
        name="checkout_share",
        kind="ratio",
        numerator={"type": ["visit"], "touchpoint": ["checkout"]},
        denominator={"type": ["visit"]},
    )
    book = MetricBook([spec])
    counts = fill(book, [event("visit", touchpoint="checkout"), event("visit", touchpoint="home")])
    # The checkout visit is in both, the home visit only in the denominator.
    assert counts == {"checkout_share": [1, 2]}


def test_one_event_feeds_every_metric_it_matches():
    book = MetricBook([VISITS, CONVERSION])
    counts = fill(book, [event("visit"), event("visit"), event("conversion")])
    assert counts == {"visits": [2, 0], "conversion_rate": [1, 2]}


# --- touchpoints and channels ------------------------------------------------


def test_by_touchpoint_adds_touchpoint_series_next_to_channel_series():
    spec = MetricSpec(name="contacts", kind="count", where={"type": ["contact"]}, by_touchpoint=True)
    book = MetricBook([spec])
    counts = fill(
        book,
        [
            event("contact", channel="chat", touchpoint="billing"),
            event("contact", channel="chat", touchpoint="billing"),
            event("contact", channel="chat", touchpoint="delivery"),
            event("contact", channel="chat"),  # no touchpoint: channel level only
        ],
    )
    assert counts == {
        "contacts": [4, 0],
        "contacts@billing": [2, 0],
        "contacts@delivery": [1, 0],
    }


def test_by_touchpoint_ratio_splits_both_counters():
    spec = CONVERSION.model_copy(update={"by_touchpoint": True})
    book = MetricBook([spec])
    counts = fill(
        book,
        [
            event("visit", touchpoint="app"),
            event("visit", touchpoint="app"),
            event("conversion", touchpoint="app"),
            event("visit", touchpoint="web"),
        ],
    )
    assert counts == {
        "conversion_rate": [1, 3],
        "conversion_rate@app": [1, 2],
        "conversion_rate@web": [0, 1],
    }


def test_without_by_touchpoint_no_touchpoint_series():
    book = MetricBook([VISITS])
    assert fill(book, [event("visit", touchpoint="home")]) == {"visits": [1, 0]}


def test_metric_restricted_to_channels_ignores_other_channels():
    web_only = MetricSpec(name="visits", kind="count", where={"type": ["visit"]}, channels=["web"])
    book = MetricBook([web_only])
    assert fill(book, [event("visit", channel="chat")]) == {}
    assert fill(book, [event("visit", channel="web")]) == {"visits": [1, 0]}


def test_base_series_lists_channel_level_series_of_applicable_metrics():
    contacts = MetricSpec(
        name="contacts", kind="count", where={"type": ["contact"]}, channels=["chat"], by_touchpoint=True
    )
    web_visits = MetricSpec(name="visits", kind="count", where={"type": ["visit"]}, channels=["web"])
    everywhere = MetricSpec(name="complaints", kind="count", where={"type": ["complaint"]})
    book = MetricBook([contacts, web_visits, everywhere])
    # Even after touchpoint series were seen, base_series never lists them.
    fill(book, [event("contact", channel="chat", touchpoint="billing")])
    assert book.base_series("chat") == ["contacts", "complaints"]
    assert book.base_series("web") == ["visits", "complaints"]
    assert book.base_series("store") == ["complaints"]


# --- values ------------------------------------------------------------------


def test_count_value_is_the_first_counter_without_sample_size():
    book = MetricBook([VISITS])
    value, n = book.value("visits", [7, 0])
    assert (value, n) == (7.0, None)
    assert isinstance(value, float)


def test_ratio_value_is_numerator_over_denominator():
    book = MetricBook([CONVERSION])
    # 3 conversions in 12 visits: 0.25 with sample size 12.
    assert book.value("conversion_rate", [3, 12]) == (0.25, 12)


def test_ratio_with_zero_denominator_has_no_value():
    book = MetricBook([CONVERSION])
    assert book.value("conversion_rate", [0, 0]) == (None, 0)
    # Numerator events without a denominator say nothing either.
    assert book.value("conversion_rate", [2, 0]) == (None, 0)


def test_value_of_touchpoint_series_uses_its_metric_kind():
    book = MetricBook([CONVERSION, VISITS])
    assert book.value("conversion_rate@app", [1, 4]) == (0.25, 4)
    assert book.value("visits@home", [3, 0]) == (3.0, None)


def test_value_of_unknown_metric_raises():
    book = MetricBook([VISITS])
    with pytest.raises(KeyError):
        book.value("nope", [1, 0])
