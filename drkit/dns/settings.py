"""``[dns]`` in drkit.toml: which provider, which records, and what each cluster's value is.

```toml
[dns]
provider = "rfc2136"                  # or "route53", or a plugin's name
verify_timeout = 120                  # seconds to wait for every authoritative server
nameservers = ["10.0.0.53:53"]        # optional: servers to verify against
resolvers = ["10.0.0.2"]              # optional: resolvers to sample after the flip
[[dns.records]]
name = "kafka.example.com."
type = "CNAME"
ttl = 60
values = { primary = "kafka-primary.example.com.", backup = "kafka-backup.example.com." }
[dns.rfc2136]                         # the provider's own table
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit.dns.base import RecordSet
from drkit.errors import ConfigError

DNS_KEYS = {"provider", "records", "verify_timeout", "nameservers", "resolvers"}
RECORD_KEYS = {"name", "type", "ttl", "values"}


@dataclass(frozen=True)
class RecordSpec:
    """A record drkit flips, with the value it must have when each cluster is active."""

    name: str
    type: str
    ttl: int
    values: Mapping[str, tuple[str, ...]]

    def for_cluster(self, alias: str) -> RecordSet:
        try:
            return RecordSet(self.name, self.type, self.ttl, self.values[alias])
        except KeyError:
            raise ConfigError(f"[[dns.records]] {self.name}: no value for cluster {alias!r} in "
                              f"values (has: {', '.join(sorted(self.values))})") from None

    def cluster_of(self, record: RecordSet | None) -> str | None:
        """Which cluster the record currently points at, if its values match one."""
        for alias in sorted(self.values):
            if record is not None and self.for_cluster(alias).same_values(record):
                return alias
        return None


@dataclass(frozen=True)
class DnsSettings:
    provider: str
    provider_config: Mapping[str, Any]
    records: tuple[RecordSpec, ...]
    verify_timeout_s: float
    nameservers: tuple[tuple[str, int], ...]
    resolvers: tuple[tuple[str, int], ...]


def _hostport(text: Any, where: str) -> tuple[str, int]:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: expected \"host\" or \"host:port\", got {text!r}")
    host, sep, port = text.strip().rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]"), int(port)
    return text.strip().strip("[]"), 53


def parse_dns(raw: Mapping[str, Any], clusters: tuple[str, ...] | None = None,
              base_dir: Path | None = None) -> DnsSettings | None:
    """None when no provider is configured (DNS flips are then skipped, and said so).

    Relative ``*_file`` paths in the provider's table are taken relative to ``base_dir`` (the
    directory of drkit.toml), like every other path in it.
    """
    if not raw or not raw.get("provider"):
        return None
    unknown = sorted(set(raw) - DNS_KEYS - {str(raw["provider"])})
    if unknown:
        raise ConfigError(f"[dns]: unknown key {unknown[0]!r}; allowed: "
                          f"{', '.join(sorted(DNS_KEYS))} and the provider's table")
    provider = str(raw["provider"])
    pconf = raw.get(provider, {})
    if not isinstance(pconf, Mapping):
        raise ConfigError(f"[dns.{provider}] must be a table")
    if base_dir is not None:
        pconf = {k: str(base_dir / v) if k.endswith("_file") and isinstance(v, str)
                 and not Path(v).expanduser().is_absolute() else v for k, v in pconf.items()}
    records = tuple(_record(r, i, clusters) for i, r in enumerate(raw.get("records") or []))
    if not records:
        raise ConfigError("[dns]: provider is set but there is no [[dns.records]] entry")
    timeout = raw.get("verify_timeout", 120)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"[dns] verify_timeout: expected seconds > 0, got {timeout!r}")
    return DnsSettings(
        provider, dict(pconf), records, float(timeout),
        tuple(_hostport(s, "[dns] nameservers") for s in raw.get("nameservers") or []),
        tuple(_hostport(s, "[dns] resolvers") for s in raw.get("resolvers") or []))


def _record(raw: Any, index: int, clusters: tuple[str, ...] | None) -> RecordSpec:
    where = f"[[dns.records]] #{index + 1}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(raw) - RECORD_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: name, type, ttl, values")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name must be a DNS name such as \"kafka.example.com.\"")
    where = f"[[dns.records]] {name}"
    rtype = str(raw.get("type", "CNAME")).upper()
    ttl = raw.get("ttl", 60)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= 2_147_483_647:
        raise ConfigError(f"{where}: ttl must be a number of seconds, got {ttl!r}")
    values = raw.get("values")
    if not isinstance(values, Mapping) or len(values) < 2:
        raise ConfigError(f"{where}: values must map each cluster to its value, e.g. "
                          "{ primary = \"kafka-primary.example.com.\", backup = \"…\" }")
    parsed: dict[str, tuple[str, ...]] = {}
    for alias, val in values.items():
        if clusters is not None and alias not in clusters:
            raise ConfigError(f"{where}: values has {alias!r}, which is not a cluster in the MM2 "
                              f"config ({', '.join(clusters)})")
        items = [val] if isinstance(val, str) else val
        if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
            raise ConfigError(f"{where}: values.{alias} must be a string or a list of strings")
        parsed[alias] = tuple(items)
    if rtype == "CNAME" and any(len(v) != 1 for v in parsed.values()):
        raise ConfigError(f"{where}: a CNAME has exactly one value per cluster")
    return RecordSpec(name, rtype, ttl, parsed)


def dns_settings(settings: Any) -> DnsSettings | None:
    """``[dns]`` of loaded Settings, with paths relative to drkit.toml's directory."""
    base = settings.config_path.parent if settings.config_path else None
    return parse_dns(settings.dns, tuple(settings.clusters), base)
