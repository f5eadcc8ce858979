"""One root exception for kohta, with a small subclass per area."""


class KohtaError(Exception):
    """Root of every error kohta raises on purpose."""


class ConfigError(KohtaError):
    """The configuration cannot run: e.g. a topic exists with the wrong partition count."""


class BrokerError(KohtaError):
    """The embedded broker could not be found, started or reached."""


class StateError(KohtaError):
    """Stored state does not fit what this version of kohta expects."""
