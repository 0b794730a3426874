"""``[drill]`` in drkit.toml: where a drill commits, and what a passing drill must show.

```toml
[drill]
group_prefix = "drkit-drill."         # shadow groups on the standby: <prefix><group>
max_rpo_seconds = 60                  # optional thresholds; a drill over one fails (exit 1)
max_rto_seconds = 900
max_duplicates_per_partition = 1000
max_age_days = 8                      # `drkit status` warns when the last passing drill is older
rto_estimates_s = { approve = 300 }   # steps a drill cannot rehearse: their expected seconds
dns_record = "drill.kafka.example.com."  # optional: a record really flipped and restored
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drkit.errors import ConfigError

DEFAULT_GROUP_PREFIX = "drkit-drill."
DRILL_KEYS = frozenset({"group_prefix", "max_rpo_seconds", "max_rto_seconds",
                        "max_duplicates_per_partition", "max_age_days", "rto_estimates_s",
                        "dns_record"})
DEFAULT_RTO_ESTIMATES_S: Mapping[str, float] = {"approve": 300.0}
_PREFIX = re.compile(r"[A-Za-z0-9._-]{3,100}")
_DNS_NAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?")


@dataclass(frozen=True)
class DrillSettings:
    group_prefix: str = DEFAULT_GROUP_PREFIX
    max_rpo_seconds: float | None = None
    max_rto_seconds: float | None = None
    max_duplicates_per_partition: int | None = None
    max_age_days: float | None = None
    rto_estimates_s: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_RTO_ESTIMATES_S))
    dns_record: str | None = None

    def is_shadow(self, group: str) -> bool:
        return group.startswith(self.group_prefix)

    def shadow_of(self, group: str) -> str:
        return f"{self.group_prefix}{group}"


def _number(raw: Mapping[str, Any], key: str, where: str, *, integer: bool = False
            ) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or value < 0:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{where}: [drill] {key} must be {kind} ≥ 0, got {value!r}")
    return int(value) if integer else float(value)


def parse_drill(raw: Mapping[str, Any] | None, where: str = "drkit.toml") -> DrillSettings:
    """The ``[drill]`` table (empty or missing: the defaults); ConfigError naming the key."""
    raw = raw or {}
    unknown = sorted(set(raw) - DRILL_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key 'drill.{unknown[0]}'; "
                          f"allowed: {', '.join(sorted(DRILL_KEYS))}")
    prefix = raw.get("group_prefix", DEFAULT_GROUP_PREFIX)
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ConfigError(f"{where}: [drill] group_prefix must be 3-100 characters of letters, "
                          f"digits, '.', '_' or '-', got {prefix!r}")
    estimates_raw = raw.get("rto_estimates_s", DEFAULT_RTO_ESTIMATES_S)
    if not isinstance(estimates_raw, Mapping):
        raise ConfigError(f"{where}: [drill] rto_estimates_s must be a table of step = seconds")
    estimates: dict[str, float] = {}
    for step, seconds in estimates_raw.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ConfigError(f"{where}: [drill] rto_estimates_s.{step} must be seconds ≥ 0, "
                              f"got {seconds!r}")
        estimates[str(step)] = float(seconds)
    record = raw.get("dns_record")
    if record is not None and (not isinstance(record, str) or not _DNS_NAME.fullmatch(record)):
        raise ConfigError(f"{where}: [drill] dns_record must be a DNS name, got {record!r}")
    return DrillSettings(
        group_prefix=prefix,
        max_rpo_seconds=_number(raw, "max_rpo_seconds", where),
        max_rto_seconds=_number(raw, "max_rto_seconds", where),
        max_duplicates_per_partition=_number(raw, "max_duplicates_per_partition", where,
                                             integer=True),
        max_age_days=_number(raw, "max_age_days", where),
        rto_estimates_s=estimates,
        dns_record=record,
    )


def drill_settings(settings: Any) -> DrillSettings:
    """``[drill]`` of loaded Settings (their ``drill`` table)."""
    where = str(getattr(settings, "config_path", None) or "drkit settings")
    return parse_drill(getattr(settings, "drill", None), where)
