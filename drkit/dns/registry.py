"""Find a DNS provider by name: built-ins plus the ``drkit.dns_providers`` entry points."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from drkit.dns.base import Provider
from drkit.errors import ConfigError

GROUP = "drkit.dns_providers"
BUILTIN = {
    "rfc2136": "drkit.dns.rfc2136:Rfc2136Provider",
    "route53": "drkit.dns.route53:Route53Provider",
}


def available() -> dict[str, str]:
    """Provider name -> ``module:Class``; an installed plugin may not shadow a built-in."""
    found = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    return {**found, **BUILTIN}


def load_provider(name: str, config: Mapping[str, Any]) -> Provider:
    target = available().get(name)
    if target is None:
        raise ConfigError(f"[dns] provider = {name!r} is not installed; available: "
                          f"{', '.join(sorted(available()))} (plugins register the entry-point "
                          f"group {GROUP!r})")
    module_name, _, attr = target.partition(":")
    try:
        module = __import__(module_name, fromlist=[attr])
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"DNS provider {name!r} ({target}) cannot be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise ConfigError(f"DNS provider {name!r} ({target}) is not a drkit.dns.Provider")
    provider = cls(config)
    provider.name = name
    return provider
