"""Which settings hold secrets, and masking them: secrets never appear in a repr or an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_WORDS = ("password", "passwd", "secret", "jaas", "token", "credential", "private")
_SECRET_KEYS = frozenset({"ssl.key.pem", "ssl.keystore.key", "ssl_key", "sasl.oauthbearer.config"})


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a secret (by name: password, secret, jaas, ...)."""
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(word in lowered for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, scalars) with the values of secret keys as ``***``."""
    if isinstance(value, Mapping):
        return {k: MASK if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
