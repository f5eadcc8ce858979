"""The touchpoint event generator: shape, rhythm, incidents, determinism."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from streams.simulation import INCIDENT_KINDS, Incident, generate_events

NAME = re.compile(r"^[a-z0-9_]{1,64}$")
SCORE_RANGES = {"nps": (0, 10), "ces": (1, 7), "csat": (1, 5), "smiley": (1, 4)}
ALL_CHANNELS = {"web", "webshop", "mobile_app", "chat", "phone", "email", "store", "invoicing", "delivery"}
HOUR = 3600.0
# A Tuesday, so weekend factors stay out of the way.
DAY = datetime(2024, 3, 5, tzinfo=timezone.utc).timestamp()


def at(hour: float) -> float:
    return DAY + hour * HOUR


def check_event(ev: dict) -> None:
    """Fail unless ``ev`` matches schema v1."""
    allowed = {"event_id", "ts", "channel", "type", "touchpoint", "segment", "survey", "score",
               "value", "customer_id"}
    assert set(ev) <= allowed, set(ev) - allowed
    assert isinstance(ev["event_id"], str) and ev["event_id"]
    assert isinstance(ev["ts"], float) and math.isfinite(ev["ts"])
    for key in ("channel", "type", "touchpoint", "segment"):
        if key in ("channel", "type") or key in ev:
            assert isinstance(ev[key], str) and NAME.fullmatch(ev[key]), (key, ev)
    assert ("survey" in ev) == ("score" in ev), ev
    if "survey" in ev:
        low, high = SCORE_RANGES[ev["survey"]]
        assert type(ev["score"]) is int and low <= ev["score"] <= high, ev
    if "value" in ev:
        assert isinstance(ev["value"], float) and math.isfinite(ev["value"]), ev
    if "customer_id" in ev:
        assert re.fullmatch(r"c\d{6}", ev["customer_id"]), ev


def counts(events, **where) -> int:
    return sum(all(ev.get(k) == v for k, v in where.items()) for ev in events)


def between(events, start: float, end: float) -> list[dict]:
    return [ev for ev in events if start <= ev["ts"] < end]


@pytest.fixture(scope="module")
def noon_hour() -> list[dict]:
    return list(generate_events(at(12), at(13), seed=7))


def test_every_event_matches_the_schema(noon_hour):
    for ev in noon_hour:
        check_event(ev)
    assert len({ev["event_id"] for ev in noon_hour}) == len(noon_hour)


def test_events_pass_the_json_schema(noon_hour):
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = Path(__file__).resolve().parents[2] / "config" / "schema" / "touchpoint-event.v1.json"
    if not schema_path.exists():
        pytest.skip("schema file not present")
    validator = jsonschema.Draft202012Validator(json.loads(schema_path.read_text()))
    for ev in noon_hour[::50]:
        validator.validate(ev)


def test_all_channels_and_surveys_present_over_an_hour(noon_hour):
    assert {ev["channel"] for ev in noon_hour} == ALL_CHANNELS
    assert {ev["survey"] for ev in noon_hour if "survey" in ev} == {"nps", "ces", "smiley"}


def test_same_seed_same_events_other_seed_differs():
    first = list(generate_events(at(9), at(9.25), seed=3))
    assert first == list(generate_events(at(9), at(9.25), seed=3))
    assert first != list(generate_events(at(9), at(9.25), seed=4))


def test_ordered_and_within_range_with_unaligned_bounds():
    start, end = at(10) + 17.3, at(10.5) + 41.9
    events = list(generate_events(start, end, seed=1))
    assert events
    assert all(start <= ev["ts"] < end for ev in events)
    assert all(a["ts"] <= b["ts"] for a, b in zip(events, events[1:]))


def test_chunking_does_not_change_the_stream():
    incident = (Incident("chat_outage", at(8) + 100.5, at(8) + 700.0),)
    whole = list(generate_events(at(8), at(8) + 900, seed=2, incidents=incident))
    cut = at(8) + 333.3
    parts = (list(generate_events(at(8), cut, seed=2, incidents=incident))
             + list(generate_events(cut, at(8) + 900, seed=2, incidents=incident)))
    assert parts == whole


def test_daily_rhythm_peak_far_above_night():
    night = counts(generate_events(at(3), at(4), seed=5), channel="webshop", type="visit")
    peak = counts(generate_events(at(20), at(21), seed=5), channel="webshop", type="visit")
    assert peak > 3 * night
    # Roughly the configured peak of ~300 visits a minute.
    assert 250 * 60 < peak < 350 * 60


def test_weekend_shifts_shopping_up_and_invoicing_down():
    saturday = DAY + 4 * 86400
    weekday = list(generate_events(at(11), at(12), seed=5))
    weekend = list(generate_events(saturday + 11 * HOUR, saturday + 12 * HOUR, seed=5))
    assert counts(weekend, channel="webshop", type="visit") > counts(weekday, channel="webshop", type="visit")
    assert counts(weekend, type="invoice") < 0.5 * counts(weekday, type="invoice")


def test_conversion_rate_and_nps_mix_are_realistic(noon_hour):
    rate = counts(noon_hour, channel="webshop", type="conversion") / counts(noon_hour, channel="webshop", type="visit")
    assert 0.06 < rate < 0.08
    nps = [ev["score"] for ev in noon_hour if ev.get("survey") == "nps"]
    promoters = sum(s >= 9 for s in nps) / len(nps)
    detractors = sum(s <= 6 for s in nps) / len(nps)
    assert 0.4 < promoters < 0.6 and 0.1 < detractors < 0.3


def webshop_conversion_rate(events) -> float:
    return counts(events, channel="webshop", type="conversion") / counts(events, channel="webshop", type="visit")


def test_checkout_outage_collapses_conversions_only_inside():
    start, end = at(19.5), at(20)
    base = list(generate_events(at(19), at(20.5), seed=11))
    hit = list(generate_events(at(19), at(20.5), seed=11, incidents=[Incident("checkout_outage", start, end)]))
    inside_base, inside_hit = between(base, start, end), between(hit, start, end)
    assert webshop_conversion_rate(inside_hit) < 0.1 * webshop_conversion_rate(inside_base)
    # Visits continue, abandons rise.
    assert counts(inside_hit, channel="webshop", type="visit") == counts(inside_base, channel="webshop", type="visit")
    assert counts(inside_hit, type="cart_abandon") > 1.2 * counts(inside_base, type="cart_abandon")
    # Outside the incident nothing changes at all.
    for lo, hi in [(at(19), start), (end, at(20.5))]:
        assert between(hit, lo, hi) == between(base, lo, hi)
        assert 0.06 < webshop_conversion_rate(between(hit, lo, hi)) < 0.08


def test_chat_outage_silences_chat_and_loads_phone():
    start, end = at(11) + 30, at(11.5) + 30  # not minute-aligned on purpose
    base = list(generate_events(at(10.75), at(11.75), seed=13))
    hit = list(generate_events(at(10.75), at(11.75), seed=13, incidents=[Incident("chat_outage", start, end)]))
    inside_base, inside_hit = between(base, start, end), between(hit, start, end)
    assert counts(inside_hit, channel="chat") == 0
    assert counts(inside_base, channel="chat") > 500
    extra_phone = counts(inside_hit, channel="phone") - counts(inside_base, channel="phone")
    assert extra_phone == pytest.approx(0.7 * counts(inside_base, channel="chat"), rel=0.1)
    assert counts(between(hit, at(10.75), start), channel="chat") > 0
    assert counts(between(hit, end, at(11.75)), channel="chat") > 0
    for ev in inside_hit:
        check_event(ev)


def test_rate_scale_scales_volume():
    full = sum(1 for _ in generate_events(at(12), at(12.5), seed=1))
    tenth = sum(1 for _ in generate_events(at(12), at(12.5), seed=1, rate_scale=0.1))
    assert tenth == pytest.approx(0.1 * full, rel=0.1)
    assert list(generate_events(at(12), at(12.5), rate_scale=0.0)) == []


def test_bad_arguments_are_rejected():
    assert INCIDENT_KINDS == {"checkout_outage", "chat_outage", "invoicing_error", "delivery_problems",
                              "store_smiley_drop", "nps_drift", "campaign_spike", "login_failure"}
    with pytest.raises(ValueError):
        Incident("dns_outage", 0.0, 1.0)
    with pytest.raises(ValueError):
        Incident("store_smiley_drop", 0.0, 1.0, {"region": "atlantis"})
    with pytest.raises(ValueError):
        Incident("chat_outage", 0.0, 1.0, {"region": "north"})
    with pytest.raises(ValueError):
        Incident("chat_outage", 10.0, 1.0)
    with pytest.raises(ValueError):
        generate_events(10.0, 1.0)
    with pytest.raises(ValueError):
        generate_events(0.0, 1.0, rate_scale=-1.0)
    with pytest.raises(ValueError):
        generate_events(0.0, math.inf)


# --- the other incident kinds -------------------------------------------------

def run_with(incident: Incident, lo: float, hi: float, seed: int = 21) -> tuple[list[dict], list[dict]]:
    """(without, with) the incident over [lo, hi)."""
    return (list(generate_events(lo, hi, seed=seed)),
            list(generate_events(lo, hi, seed=seed, incidents=[incident])))


def ratio(events, num: dict, den: dict) -> float:
    return counts(events, **num) / counts(events, **den)


def mean_score(events, **where) -> float:
    scores = [ev["score"] for ev in events if all(ev.get(k) == v for k, v in where.items())]
    return sum(scores) / len(scores)


def nps(events) -> float:
    scores = [ev["score"] for ev in events if ev.get("survey") == "nps"]
    return 100.0 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


@pytest.mark.parametrize("kind", sorted(INCIDENT_KINDS - {"nps_drift"}))
def test_each_kind_changes_nothing_outside_and_stays_valid(kind):
    # Unaligned bounds: events in the same minutes but outside must not move.
    start, end = at(12) + 17.5, at(12.5) + 41.0
    base, hit = run_with(Incident(kind, start, end), at(11.75), at(12.75))
    for lo, hi in [(at(11.75), start), (end, at(12.75))]:
        assert between(hit, lo, hi) == between(base, lo, hi)
    assert between(hit, start, end) != between(base, start, end)
    assert len({ev["event_id"] for ev in hit}) == len(hit)
    assert all(a["ts"] <= b["ts"] for a, b in zip(hit, hit[1:]))
    for ev in hit:
        check_event(ev)


def test_invoicing_error_floods_complaints_and_billing_calls():
    start, end = at(10), at(11)
    base, hit = run_with(Incident("invoicing_error", start, end), at(10), at(11))
    invoice, complaint = {"channel": "invoicing", "type": "invoice"}, {"channel": "invoicing", "type": "complaint"}
    assert 0.006 < ratio(base, complaint, invoice) < 0.015
    # At least ten times the catalog's 1 % complaints per invoice.
    assert ratio(hit, complaint, invoice) > 10 * 0.01
    assert {ev.get("touchpoint") for ev in hit if ev["type"] == "complaint"} == {"billing"}
    billing_calls = {"channel": "phone", "type": "contact", "touchpoint": "billing"}
    assert counts(hit, **billing_calls) > 2 * counts(base, **billing_calls)
    assert all("value" in ev for ev in hit if ev["channel"] == "phone")


def test_delivery_problems_worsen_ces_and_raise_cancellations_and_contacts():
    start, end = at(10), at(11)
    base, hit = run_with(Incident("delivery_problems", start, end), at(10), at(11))
    assert mean_score(hit, survey="ces") <= mean_score(base, survey="ces") - 1.5
    cancel, delivery = {"channel": "delivery", "type": "cancellation"}, {"channel": "delivery", "type": "delivery"}
    assert ratio(hit, cancel, delivery) > 3 * ratio(base, cancel, delivery)
    for channel in ("phone", "chat"):
        where = {"channel": channel, "type": "contact", "touchpoint": "delivery"}
        assert counts(hit, **where) > 2 * counts(base, **where)


def test_store_smiley_drop_hits_one_region_only():
    start, end = at(12), at(13)
    base, hit = run_with(Incident("store_smiley_drop", start, end, {"region": "north"}), at(12), at(13))

    def sad_share(events, region):
        scores = [ev["score"] for ev in events if ev["channel"] == "store" and ev["touchpoint"] == region]
        return sum(s <= 2 for s in scores) / len(scores)

    assert sad_share(base, "north") < 0.25
    assert sad_share(hit, "north") >= 0.4
    assert mean_score(hit, channel="store", touchpoint="north") < mean_score(base, channel="store", touchpoint="north") - 0.5
    others = [ev for ev in base if ev["channel"] == "store" and ev["touchpoint"] != "north"]
    assert others == [ev for ev in hit if ev["channel"] == "store" and ev["touchpoint"] != "north"]


def test_store_smiley_drop_defaults_to_north():
    incident = Incident("store_smiley_drop", at(12), at(12.5))
    assert incident.param("region") == "north"
    base, hit = run_with(incident, at(12), at(12.5))
    assert between(hit, at(12), at(12.5)) != between(base, at(12), at(12.5))
    changed = {ev["touchpoint"] for ev, old in zip(hit, base) if ev != old}
    assert changed == {"north"}


def test_nps_drift_slides_linearly_to_about_thirty_points_down():
    # Days long in a scenario; the slope scales with the duration, so 8 h will do.
    start, end = at(8), at(16)
    base, hit = run_with(Incident("nps_drift", start, end), at(7.5), at(16.5), seed=4)

    def drop(lo, hi):
        return nps(between(base, at(lo), at(hi))) - nps(between(hit, at(lo), at(hi)))

    assert drop(8, 9.5) < 8 and 8 < drop(11, 13) < 22 and 18 < drop(14, 16) < 38
    assert between(hit, at(16), at(16.5)) == between(base, at(16), at(16.5))
    assert between(hit, at(7.5), at(8)) == between(base, at(7.5), at(8))


def test_campaign_spike_triples_web_visits_and_keeps_conversion():
    start, end = at(19), at(20)
    base, hit = run_with(Incident("campaign_spike", start, end), at(19), at(20))
    for channel in ("web", "webshop", "mobile_app"):
        assert counts(hit, channel=channel, type="visit") == pytest.approx(
            3 * counts(base, channel=channel, type="visit"), rel=0.05)
    for channel in ("webshop", "mobile_app"):
        visit, conv = {"channel": channel, "type": "visit"}, {"channel": channel, "type": "conversion"}
        assert 0.75 < ratio(hit, conv, visit) / ratio(base, conv, visit) <= 1.0
    assert counts(hit, channel="phone") == counts(base, channel="phone")


def test_login_failure_blocks_web_channels():
    start, end = at(19), at(19.5)
    base, hit = run_with(Incident("login_failure", start, end), at(19), at(19.5))
    for channel in ("web", "webshop", "mobile_app"):
        kept = counts(hit, channel=channel, type="visit") / counts(base, channel=channel, type="visit")
        assert 0.17 < kept < 0.23
    for channel in ("webshop", "mobile_app"):
        kept = counts(hit, channel=channel, type="conversion") / counts(base, channel=channel, type="conversion")
        assert kept < 0.09
    assert counts(hit, channel="store") == counts(base, channel="store")
