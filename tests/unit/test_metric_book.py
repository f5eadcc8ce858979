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
    assert counts == {"visits": [2]}


def test_event_matching_nothing_adds_no_series():
    book = MetricBook([VISITS])
    assert fill(book, [event("click")]) == {}


def test_filter_lists_several_allowed_values():
    book = MetricBook([MetricSpec(name="contacts", kind="count", where={"type": ["chat", "call"]})])
    counts = fill(book, [event("chat"), event("call"), event("email")])
    assert counts == {"contacts": [2]}


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
    assert counts == {"checkout_visits": [1]}


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
    assert counts == {"b2b_nps": [2]}


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
    assert counts == {"visits": [2], "conversion_rate": [1, 2]}


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
        "contacts": [4],
        "contacts@billing": [2],
        "contacts@delivery": [1],
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
    assert fill(book, [event("visit", touchpoint="home")]) == {"visits": [1]}


def test_metric_restricted_to_channels_ignores_other_channels():
    web_only = MetricSpec(name="visits", kind="count", where={"type": ["visit"]}, channels=["web"])
    book = MetricBook([web_only])
    assert fill(book, [event("visit", channel="chat")]) == {}
    assert fill(book, [event("visit", channel="web")]) == {"visits": [1]}


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
    value, n, _ = book.measure("visits", [7])
    assert (value, n) == (7.0, None)
    assert isinstance(value, float)


def test_ratio_value_is_numerator_over_denominator():
    book = MetricBook([CONVERSION])
    # 3 conversions in 12 visits: 0.25 with sample size 12.
    assert book.measure("conversion_rate", [3, 12]) == (0.25, 12, None)


def test_ratio_with_zero_denominator_has_no_value():
    book = MetricBook([CONVERSION])
    assert book.measure("conversion_rate", [0, 0]) == (None, 0, None)
    # Numerator events without a denominator say nothing either.
    assert book.measure("conversion_rate", [2, 0]) == (None, 0, None)


def test_value_of_touchpoint_series_uses_its_metric_kind():
    book = MetricBook([CONVERSION, VISITS])
    assert book.measure("conversion_rate@app", [1, 4]) == (0.25, 4, None)
    assert book.measure("visits@home", [3]) == (3.0, None, None)


def test_value_of_unknown_metric_raises():
    book = MetricBook([VISITS])
    with pytest.raises(KeyError):
        book.measure("nope", [1])


# --- survey and value metrics -------------------------------------------------

NPS = MetricSpec(name="nps", kind="nps", where={"survey": ["nps"]})
CES = MetricSpec(name="ces", kind="mean", field="score", where={"survey": ["ces"]})
HANDLE = MetricSpec(name="handle_time", kind="mean", field="value", where={"type": ["contact"]})
SAD = MetricSpec(name="sad_smiley_share", kind="share", scores=[1, 2], where={"survey": ["smiley"]})


def survey(kind: str, score: float) -> TouchpointEvent:
    return event("survey", survey=kind, score=score)


def test_nps_counts_promoters_detractors_and_answers():
    book = MetricBook([NPS])
    # 9 and 10 promote, 7 and 8 are passive, 0-6 detract.
    counts = fill(book, [survey("nps", s) for s in [10, 9, 8, 7, 6, 0]])
    assert counts == {"nps": [2, 2, 6]}
    value, n, se = book.measure("nps", counts["nps"])
    assert (value, n) == (0.0, 6)
    # p = d = 1/3: variance p + d - (p - d)^2 = 2/3, se = 100 * sqrt(2/3 / 6) = 33.33
    assert se == pytest.approx(100 * (2 / 3 / 6) ** 0.5)


def test_nps_of_all_promoters_is_100_with_no_sampling_spread():
    book = MetricBook([NPS])
    assert book.measure("nps", [4, 0, 4]) == (100.0, 4, 0.0)


def test_answers_without_a_score_or_of_another_survey_are_not_counted():
    book = MetricBook([NPS])
    counts = fill(book, [survey("ces", 5), event("survey", survey="nps"), survey("nps", 9)])
    assert counts == {"nps": [1, 0, 1]}


def test_mean_of_score_and_its_standard_error():
    book = MetricBook([CES])
    counts = fill(book, [survey("ces", s) for s in [2, 4, 6]])
    assert counts == {"ces": [12, 4 + 16 + 36, 3]}
    value, n, se = book.measure("ces", counts["ces"])
    # mean 4, sample variance ((2-4)^2 + 0 + (6-4)^2) / 2 = 4, se = sqrt(4 / 3)
    assert (value, n) == (4.0, 3)
    assert se == pytest.approx((4 / 3) ** 0.5)


def test_mean_of_value_skips_events_without_one():
    book = MetricBook([HANDLE])
    counts = fill(book, [event("contact", value=300.0), event("contact"), event("contact", value=100.0)])
    assert book.measure("handle_time", counts["handle_time"])[:2] == (200.0, 2)


def test_mean_of_a_single_event_has_no_standard_error():
    book = MetricBook([HANDLE])
    assert book.measure("handle_time", [120.0, 14400.0, 1]) == (120.0, 1, None)


def test_share_of_scores_in_a_set():
    book = MetricBook([SAD])
    counts = fill(book, [survey("smiley", s) for s in [1, 2, 3, 4, 4]])
    assert counts == {"sad_smiley_share": [2, 5]}
    assert book.measure("sad_smiley_share", counts["sad_smiley_share"]) == (0.4, 5, None)


def test_empty_windows_have_zero_counters_of_each_kinds_width():
    book = MetricBook([VISITS, CONVERSION, NPS, CES, SAD])
    assert [book.empty_counts(k) for k in ["visits", "conversion_rate", "nps", "ces", "sad_smiley_share"]] == [
        [0], [0, 0], [0, 0, 0], [0, 0, 0], [0, 0]
    ]
    assert book.measure("nps", [0, 0, 0]) == (None, 0, None)


@pytest.mark.parametrize(
    "declaration",
    [
        {"name": "m", "kind": "mean", "where": {"type": ["x"]}},  # mean needs field
        {"name": "m", "kind": "share", "where": {"type": ["x"]}},  # share needs scores
        {"name": "m", "kind": "count", "where": {"type": ["x"]}, "field": "value"},
        {"name": "m", "kind": "nps", "numerator": {"type": ["x"]}},
        {"name": "m", "kind": "count", "where": {"type": ["x"]}, "target": {}},  # empty target
    ],
)
def test_metric_fields_must_fit_their_kind(declaration):
    with pytest.raises(ValueError):
        MetricSpec(**declaration)


# --- tally: deferred fixed increments ------------------------------------------


def _mixed_events(count: int, seed: int) -> list[TouchpointEvent]:
    import random

    rng = random.Random(seed)
    events = []
    for _ in range(count):
        kind = rng.choice(["visit", "conversion", "contact", "survey", "click"])
        touchpoint = rng.choice([None, "checkout", "cart", "faq"])
        if kind == "survey":
            survey = rng.choice(["nps", "ces", "smiley"])
            top = {"nps": 10, "ces": 7, "smiley": 4}[survey]
            score = float(rng.randint(0 if survey == "nps" else 1, top))
            events.append(event("survey", touchpoint=touchpoint, survey=survey, score=score))
        elif kind == "contact":
            events.append(event("contact", touchpoint=touchpoint, value=rng.choice([None, rng.uniform(1, 900)])))
        else:
            events.append(event(kind, touchpoint=touchpoint))
    return events


def test_a_tally_ends_with_the_counters_accumulate_gives_event_by_event():
    book = MetricBook([
        VISITS, CONVERSION.model_copy(update={"by_touchpoint": True}), NPS, CES, HANDLE, SAD,
        MetricSpec(name="contacts", kind="count", where={"type": ["contact"]}, by_touchpoint=True),
    ])
    for seed in range(5):
        events = _mixed_events(400, seed)
        expected = fill(book, events)
        counts: dict[str, list[float]] = {}
        tally = book.tally(counts)
        created = []
        for e in events:
            before = set(counts)
            created.append(tally.add(e))
            assert created[-1] == (set(counts) != before)
        tally.settle()
        # The same counters, created in the same order (the order series are reported in).
        assert list(counts.items()) == list(expected.items())
        assert any(created) and not all(created)


def test_a_tally_settles_only_what_it_deferred_since_the_last_settle():
    book = MetricBook([VISITS])
    counts: dict[str, list[float]] = {}
    tally = book.tally(counts)
    tally.add(event("visit"))
    tally.settle()
    tally.settle()
    tally.add(event("visit"))
    tally.settle()
    assert counts == {"visits": [2]}
