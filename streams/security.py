"""Broker security (TLS, SASL/SCRAM) from settings, for Faust and for kafka-python.

The password is a pydantic ``SecretStr``: it prints as ``**********`` in reprs,
logs and errors, and is read with ``get_secret_value()`` only here.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

import faust
from pydantic import BaseModel, SecretStr, model_validator


class SecuritySettings(BaseModel):
    model_config = {"extra": "forbid"}

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> SecuritySettings:
        if self.uses_sasl and (not self.sasl_username or self.sasl_password is None):
            raise ValueError(f"security.protocol {self.protocol} needs sasl_username and sasl_password")
        return self

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def faust_credentials(self) -> faust.types.auth.CredentialsT | None:
        """What ``faust.App(broker_credentials=...)`` takes."""
        if self.uses_sasl:
            assert self.sasl_password is not None
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password.get_secret_value(),
                mechanism=self.sasl_mechanism,
                ssl_context=self.ssl_context(),
            )
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context())
        return None

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's producer, consumer and admin client."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls and self.ca_file:
            options["ssl_cafile"] = str(self.ca_file)
        if self.uses_sasl:
            assert self.sasl_password is not None
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password.get_secret_value(),
            )
        return options
