"""Alert text for on-call, in English and Finnish."""

from __future__ import annotations

import os

import orjson
import pytest

from streams.alert_text import describe, format_value
from streams.engine import Engine
from streams.events import TouchpointEvent
from streams.settings import KohtaSettings

NNBSP = "\u202f"  # thousands separator
# 2024-05-01T00:00:00Z is 1_714_521_600; 14:32 UTC that day is 52_320 s later.
AT_1432 = 1_714_521_600.0 + 14 * 3600 + 32 * 60


def record(**fields) -> dict:
    base = {
        "alert_id": "a1", "status": "open", "kind": "anomaly", "channel": "webshop",
        "metric": "conversion_rate", "touchpoint": None, "start_epoch": AT_1432,
        "observed": 0.009, "expected": 0.078, "lower": 0.068, "upper": 0.089,
        "target": None, "direction": "down", "severity": "critical",
    }
    return {**base, **fields}


# --- anomaly alerts -------------------------------------------------------------------


def spike(**fields) -> dict:
    """Phone contacts at 150 against a band of 60-140."""
    base = {"channel": "phone", "metric": "contact_volume", "observed": 150.0, "expected": 100.0,
            "lower": 60.0, "upper": 140.0, "direction": "up", "severity": "warning"}
    return record(**{**base, **fields})


def test_open_in_english():
    assert describe(spike()) == "Phone contacts 150 (expected 60–140) since 14:32 UTC"


def test_open_in_finnish():
    assert describe(spike(), "fi") == "Puhelin: yhteydenotot 150 (odotettu 60–140) klo 14:32 UTC alkaen"


def test_english_is_the_default_language():
    assert describe(spike()) == describe(spike(), "en")


def test_update_names_the_new_severity():
    update = spike(status="update", severity="critical", previous_severity="warning")
    assert describe(update) == "Phone contacts 150 (expected 60–140) since 14:32 UTC, now critical"


def test_update_in_finnish():
    update = spike(status="update", severity="critical", previous_severity="warning")
    # The severity itself is the record's label (as in Alertmanager); only the frame is asserted.
    assert describe(update, "fi").startswith(
        "Puhelin: yhteydenotot 150 (odotettu 60–140) klo 14:32 UTC alkaen, nyt "
    )


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Webshop conversion 0.9 % (expected 6.8–8.9 %) since 14:32 UTC"),
     ("fi", "Verkkokauppa: konversio 0,9 % (odotettu 6,8–8,9 %) klo 14:32 UTC alkaen")],
    ids=["en", "fi"],
)
def test_percent_band_carries_its_unit_once(language, text):
    assert describe(record(), language) == text


def test_percent_values_in_an_open_alert():
    # Whatever the band's form, the observed value reads as a percentage.
    assert describe(record()).startswith("Webshop conversion 0.9 % (expected 6.8")
    assert describe(record(), "fi").startswith("Verkkokauppa: konversio 0,9 % (odotettu 6,8")


def test_resolved_in_both_languages():
    done = record(status="resolved", observed=0.075)
    assert describe(done) == "Webshop conversion back to normal (7.5 %) after a deviation since 14:32 UTC"
    assert describe(done, "fi") == (
        "Verkkokauppa: konversio palasi normaaliksi (7,5 %); poikkeama alkoi klo 14:32 UTC"
    )


def test_counts_touchpoints_and_thousands():
    phone = record(channel="phone", metric="contact_volume", touchpoint="billing",
                   observed=12_345.0, lower=8_000.0, upper=9_500.0, direction="up")
    assert describe(phone) == (
        f"Phone (billing) contacts 12{NNBSP}345 (expected 8{NNBSP}000–9{NNBSP}500) since 14:32 UTC"
    )
    assert describe(phone, "fi") == (
        f"Puhelin (billing): yhteydenotot 12{NNBSP}345 (odotettu 8{NNBSP}000–9{NNBSP}500) klo 14:32 UTC alkaen"
    )


# --- targets ---------------------------------------------------------------------------


def test_target_open_and_resolved_in_english():
    nps = record(kind="target", channel="email", metric="nps", observed=12.4,
                 target={"min": 20, "max": None}, severity="warning")
    assert describe(nps) == "Email NPS 12 breaks its target (≥ 20) since 14:32 UTC"
    done = {**nps, "status": "resolved", "observed": 25.0}
    assert describe(done) == "Email NPS meets its target again (25) after a breach since 14:32 UTC"


def test_target_open_and_resolved_in_finnish():
    nps = record(kind="target", channel="email", metric="nps", observed=12.4,
                 target={"min": 20, "max": None}, severity="warning")
    assert describe(nps, "fi") == "Sähköposti: NPS 12 ei täytä tavoitetta (≥ 20) klo 14:32 UTC alkaen"
    done = {**nps, "status": "resolved", "observed": 25.0}
    assert describe(done, "fi") == "Sähköposti: NPS täyttää taas tavoitteen (25); rikkomus alkoi klo 14:32 UTC"


def test_target_bounds_in_the_metric_unit():
    handle = record(kind="target", channel="phone", metric="handle_time", observed=655.0,
                    target={"min": None, "max": 600}, direction="up", severity="warning")
    assert describe(handle) == "Phone handle time 655 s breaks its target (≤ 600 s) since 14:32 UTC"
    conversion = record(kind="target", observed=0.0125, target={"min": 0.02, "max": 0.5})
    assert describe(conversion, "fi") == (
        "Verkkokauppa: konversio 1,2 % ei täytä tavoitetta (≥ 2,0 % ≤ 50,0 %) klo 14:32 UTC alkaen"
    )


# --- contributions ---------------------------------------------------------------------


CONTRIBUTORS = [
    {"touchpoint": "billing", "observed": 80.0, "expected": 40.0, "share": 0.8},
    {"touchpoint": "moving", "observed": 36.0, "expected": 30.0, "share": 0.12},
]


def test_contributions_are_appended():
    with_parts = spike(contributors=CONTRIBUTORS)
    assert describe(with_parts) == (
        "Phone contacts 150 (expected 60–140) since 14:32 UTC; "
        "80 % of the excess in touchpoint=billing; 12 % of the excess in touchpoint=moving"
    )
    assert describe(with_parts, "fi") == (
        "Puhelin: yhteydenotot 150 (odotettu 60–140) klo 14:32 UTC alkaen; "
        "80 % ylityksestä kosketuspisteessä billing; 12 % ylityksestä kosketuspisteessä moving"
    )


def test_empty_contributions_add_nothing():
    assert describe(spike(contributors=[])) == describe(spike())


# --- unknown names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "kiosk queue_length 7 (expected 1.5–4.5) since 14:32 UTC"),
     ("fi", "kiosk: queue_length 7 (odotettu 1,5–4,5) klo 14:32 UTC alkaen")],
    ids=["en", "fi"],
)
def test_unknown_channel_and_metric_fall_back_to_raw_names(language, text):
    kiosk = record(channel="kiosk", metric="queue_length", observed=7.0, lower=1.5, upper=4.5)
    assert describe(kiosk, language) == text


@pytest.mark.parametrize(
    ("metric", "value", "en", "fi"),
    [("conversion_rate", 0.0712, "7.1 %", "7,1 %"), ("handle_time", 312.4, "312 s", "312 s"),
     ("ces", 5.125, "5.12", "5,12"), ("contact_volume", 3.5, "3.5", "3,5"),
     ("contact_volume", 40.0, "40", "40"), ("nps", -12.0, "-12", "-12"), ("visits", None, "–", "–")],
)
def test_format_value(metric, value, en, fi):
    assert format_value(metric, value, "en") == en
    assert format_value(metric, value, "fi") == fi


# --- no personal data ------------------------------------------------------------------


def test_records_and_text_carry_no_customer_ids(monkeypatch: pytest.MonkeyPatch):
    for name in list(os.environ):
        if name.startswith("KOHTA_"):
            monkeypatch.delenv(name)
    settings = KohtaSettings(
        topics={"partitions": 1},
        windows={"size_seconds": 60, "allowed_lateness_seconds": 0},
        detector={"model": "level", "warmup": 3},
        metrics=[{"name": "contact_volume", "kind": "count", "where": {"type": ["contact"]},
                  "by_touchpoint": True}],
    )
    engine = Engine(settings, windows={}, detectors={}, alerts={})
    alerts = []
    for i, n in enumerate([50, 50, 50, 50, 0, 0]):
        events = [TouchpointEvent(f"e-{i}-{k}", i * 60 + k, "chat", "contact", touchpoint="billing",
                                  customer_id=f"cust-{i}-{k}", attrs={"email": "jane@example.com"})
                  for k in range(n)]
        events.append(TouchpointEvent(f"t-{i}", (i + 1) * 60, "chat", "tick", customer_id="cust-tick"))
        alerts += engine.absorb(0, events, 1_000_000.0 + i * 60).alerts
    assert alerts  # the drop to 0 alerted, channel-level and at touchpoint billing
    for alert in alerts:
        for language in ("en", "fi"):
            text = describe(alert, language)
            assert "cust-" not in text and "jane" not in text
        raw = orjson.dumps(alert)
        assert b"cust-" not in raw and b"customer" not in raw and b"jane" not in raw
