"""Alert text in plain language, English or Finnish (``KOHTA_LANGUAGE``).

"Webshop conversion 0.9 % (expected 6.8–8.9 %) since 14:32 UTC" says what, where,
how bad and since when; on-call should not need the JSON to act.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

CHANNELS = {
    "en": {"web": "Web", "webshop": "Webshop", "mobile_app": "Mobile app", "chat": "Chat", "phone": "Phone",
           "email": "Email", "store": "Store", "invoicing": "Invoicing", "delivery": "Delivery"},
    "fi": {"web": "Verkkosivut", "webshop": "Verkkokauppa", "mobile_app": "Mobiilisovellus", "chat": "Chat",
           "phone": "Puhelin", "email": "Sähköposti", "store": "Myymälä", "invoicing": "Laskutus",
           "delivery": "Toimitus"},
}
METRICS = {
    "en": {"visits": "visits", "conversion_rate": "conversion", "cart_abandon_rate": "cart abandonment",
           "contact_volume": "contacts", "complaint_volume": "complaints",
           "complaints_per_invoice": "complaints per invoice", "cancellation_rate": "cancellation rate",
           "nps": "NPS", "ces": "CES", "smiley_score": "smiley score", "sad_smiley_share": "sad smileys",
           "handle_time": "handle time", "order_value": "order value"},
    "fi": {"visits": "käynnit", "conversion_rate": "konversio", "cart_abandon_rate": "ostoskorin hylkäys",
           "contact_volume": "yhteydenotot", "complaint_volume": "reklamaatiot",
           "complaints_per_invoice": "reklamaatiot per lasku", "cancellation_rate": "peruutusaste",
           "nps": "NPS", "ces": "CES", "smiley_score": "hymiöarvio", "sad_smiley_share": "surulliset hymiöt",
           "handle_time": "käsittelyaika", "order_value": "tilauksen arvo"},
}
TEMPLATES = {
    "en": {
        "open": "{where} {metric} {observed} (expected {lower}–{upper}) since {since} UTC",
        "update": "{where} {metric} {observed} (expected {lower}–{upper}) since {since} UTC, now {severity}",
        "resolved": "{where} {metric} back to normal ({observed}) after a deviation since {since} UTC",
        "target": "{where} {metric} {observed} breaks its target ({target}) since {since} UTC",
        "target_resolved": "{where} {metric} meets its target again ({observed}) after a breach since {since} UTC",
        "part": "{share} of the excess in touchpoint={touchpoint}",
    },
    "fi": {
        "open": "{where}: {metric} {observed} (odotettu {lower}–{upper}) klo {since} UTC alkaen",
        "update": "{where}: {metric} {observed} (odotettu {lower}–{upper}) klo {since} UTC alkaen, nyt {severity}",
        "resolved": "{where}: {metric} palasi normaaliksi ({observed}); poikkeama alkoi klo {since} UTC",
        "target": "{where}: {metric} {observed} ei täytä tavoitetta ({target}) klo {since} UTC alkaen",
        "target_resolved": "{where}: {metric} täyttää taas tavoitteen ({observed}); rikkomus alkoi klo {since} UTC",
        "part": "{share} ylityksestä kosketuspisteessä {touchpoint}",
    },
}
# Metrics shown as percentages; the others by their unit.
_PERCENT = {"conversion_rate", "cart_abandon_rate", "complaints_per_invoice", "cancellation_rate", "sad_smiley_share"}


def _number(value: float, digits: int, language: str) -> str:
    text = f"{value:,.{digits}f}".replace(",", "\u202f")
    return text.replace(".", ",") if language == "fi" else text


def format_value(metric: str, value: float | None, language: str = "en", *, unit: bool = True) -> str:
    if value is None:
        return "–"
    if metric in _PERCENT:
        return _number(100 * value, 1, language) + (" %" if unit else "")
    if metric == "handle_time":
        return _number(value, 0, language) + (" s" if unit else "")
    if metric in ("ces", "smiley_score"):
        return _number(value, 2, language)
    return _number(value, 1 if abs(value) < 10 and value != int(value) else 0, language)


def describe(record: dict[str, Any], language: str = "en") -> str:
    """One line for a human: what, where, how bad, since when."""
    words = TEMPLATES.get(language, TEMPLATES["en"])
    metric = record["metric"]
    where = CHANNELS[language].get(record["channel"], record["channel"])
    if record.get("touchpoint"):
        where = f"{where} ({record['touchpoint']})"
    since = datetime.fromtimestamp(record["start_epoch"], UTC).strftime("%H:%M")
    target = record.get("target") or {}
    bound = " ".join(
        f"{sign} {format_value(metric, target[key], language)}"
        for sign, key in (("≥", "min"), ("≤", "max"))
        if target.get(key) is not None
    )
    status, kind = record["status"], record.get("kind", "anomaly")
    template = words["resolved" if status == "resolved" else status]
    if kind == "target":
        template = words["target_resolved" if status == "resolved" else "target"]
    text = template.format(
        where=where,
        metric=METRICS[language].get(metric, metric),
        observed=format_value(metric, record.get("observed"), language),
        # The unit once, after the band: "6.8–8.9 %".
        lower=format_value(metric, record.get("lower"), language, unit=False),
        upper=format_value(metric, record.get("upper"), language),
        since=since,
        severity=record.get("severity") or "",
        target=bound,
    )
    parts = [
        words["part"].format(share=f"{part['share']:.0%}".replace("%", " %"), touchpoint=part["touchpoint"])
        for part in record.get("contributors") or []
    ]
    return "; ".join([text, *parts])
