"""Broker security settings: SASL/SCRAM over TLS from the environment, secrets kept secret."""

from __future__ import annotations

import ssl

import faust
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from streams.app import create_app
from streams.settings import KohtaSettings

SECRET = "s3cret-CANARY-pw"


@pytest.fixture
def sasl_env(monkeypatch):
    monkeypatch.setenv("KOHTA_SECURITY__PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KOHTA_SECURITY__SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KOHTA_SECURITY__SASL_USERNAME", "kohta")
    monkeypatch.setenv("KOHTA_SECURITY__SASL_PASSWORD", SECRET)


def test_sasl_scram_over_tls_from_the_environment(sasl_env):
    settings = KohtaSettings()
    credentials = settings.security.faust_credentials()
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "kohta" and credentials.password == SECRET
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    options = settings.security.kafka_python()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_password"] == SECRET


def test_the_password_never_shows_in_reprs_or_dumps(sasl_env):
    settings = KohtaSettings()
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in settings.model_dump_json()
    assert SECRET not in repr(settings.security)


def test_sasl_without_credentials_is_refused(monkeypatch):
    monkeypatch.setenv("KOHTA_SECURITY__PROTOCOL", "SASL_PLAINTEXT")
    with pytest.raises(ValidationError):
        KohtaSettings()


def test_plaintext_needs_no_credentials():
    settings = KohtaSettings()
    assert settings.security.faust_credentials() is None
    assert settings.security.kafka_python() == {"security_protocol": "PLAINTEXT"}


def test_the_faust_app_gets_the_credentials_and_keeps_table_pages_off(sasl_env):
    app = create_app(KohtaSettings(app_id="kohta-security-test"), CollectorRegistry())
    assert isinstance(app.conf.broker_credentials, faust.SASLCredentials)
    assert app.conf.web_tables_enabled is False
    assert app.conf.web_router_enabled is False
    assert app.conf.web_stats_enabled is False
