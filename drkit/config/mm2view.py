"""MM2 key resolution, as ``MirrorMakerConfig`` does it, and the :class:`Flow` it yields.

``<src>-><tgt>.<key>`` overrides ``<key>`` for a flow, ``<alias>.<key>`` overrides ``<key>`` for a
cluster's clients. Every value keeps its origin (``file:line key``) for error messages and reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from drkit.config.model import (
    DEFAULT_GROUPS,
    DEFAULT_GROUPS_EXCLUDE,
    DEFAULT_REPLICATION_POLICY,
    DEFAULT_TOPICS,
    DEFAULT_TOPICS_EXCLUDE,
    Flow,
)
from drkit.errors import ConfigError
from drkit.config.javaprops import PropertiesFile

_COMMA = re.compile(r"\s*,\s*")


@dataclass(frozen=True)
class Found:
    """One MM2 key as resolved: the key as written, its raw value, and the line that set it."""

    key: str  # the key as written, e.g. "primary->backup.topics"
    value: str
    where: str  # "file:line"

    @property
    def origin(self) -> str:
        return f"{self.where} {self.key}"


class MM2View:
    """Typed, prefix-aware access to MM2 properties; every error names key, file and line."""

    def __init__(self, properties: PropertiesFile) -> None:
        self.props = properties

    def find(self, key: str, prefix: str | None = None, inherit: bool = True) -> Found | None:
        candidates = ([f"{prefix}.{key}"] if prefix else []) + ([key] if inherit else [])
        for name in candidates:
            value = self.props.get(name)
            if value is not None:
                return Found(name, value, self.props.where(name))
        return None

    def clusters(self) -> tuple[str, ...]:
        found = self.find("clusters")
        aliases = tuple(dict.fromkeys(a for a in split_list(found.value if found else "")))
        if not aliases:
            raise ConfigError(
                f"{self.props.source}: 'clusters' is missing or empty; "
                "MM2 needs e.g. clusters = primary, backup"
            )
        return aliases

    def string(self, key: str, prefix: str | None, default: str) -> tuple[str, str]:
        found = self.find(key, prefix)
        return (default, "MM2 default") if found is None else (found.value.strip(), found.origin)

    def boolean(
        self, key: str, prefix: str | None, default: bool, inherit: bool = True
    ) -> tuple[bool, str]:
        found = self.find(key, prefix, inherit)
        if found is None:
            return default, "MM2 default"
        text = found.value.strip().lower()
        if text not in ("true", "false"):
            raise ConfigError(
                f"{found.where}: {found.key} = {found.value!r} is not a boolean; use true or false"
            )
        return text == "true", found.origin

    def integer(self, key: str, prefix: str | None, default: int) -> tuple[int, str]:
        found = self.find(key, prefix)
        if found is None:
            return default, "MM2 default"
        if not re.fullmatch(r"[+-]?[0-9]+", found.value.strip()):
            raise ConfigError(f"{found.where}: {found.key} = {found.value!r} is not an integer")
        return int(found.value.strip()), found.origin

    def patterns(
        self, key: str, prefix: str | None, default: tuple[str, ...], legacy: str
    ) -> tuple[tuple[str, ...], str]:
        """A regex list; ``legacy`` is the pre-4.0 ``*.blacklist``/``*.whitelist`` alias."""
        found = self.find(key, prefix) or self.find(legacy, prefix)
        if found is None:
            return default, "MM2 default"
        items = tuple(split_list(found.value))
        for pattern in (*items, "|".join(items)):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"{found.where}: {found.key}: invalid regex '{pattern}': {exc}"
                ) from None
        return items, found.origin

    def policy(self, prefix: str | None) -> tuple[str, str, bool]:
        policy_class, _ = self.string(
            "replication.policy.class", prefix, DEFAULT_REPLICATION_POLICY
        )
        # DefaultReplicationPolicy.configure() reads the raw (untrimmed) original string.
        found = self.find("replication.policy.separator", prefix)
        separator = "." if found is None else found.value
        if found is not None and not separator:
            raise ConfigError(f"{found.where}: {found.key} must not be empty")
        internal, _ = self.boolean(
            "replication.policy.internal.topic.separator.enabled", prefix, True
        )
        return policy_class or DEFAULT_REPLICATION_POLICY, separator, internal


def split_list(text: str) -> Iterator[str]:
    """ConfigDef LIST parsing: trim, split on commas with surrounding blanks, drop empties."""
    stripped = text.strip()
    return (item for item in _COMMA.split(stripped) if item) if stripped else iter(())


# (Flow field, MM2 key, MM2 default): the typed per-flow settings, resolved flow-first.
_FLOW_SCALARS: tuple[tuple[str, str, bool | int], ...] = (
    ("sync_group_offsets_enabled", "sync.group.offsets.enabled", False),
    ("sync_group_offsets_interval_s", "sync.group.offsets.interval.seconds", 60),
    ("emit_checkpoints_enabled", "emit.checkpoints.enabled", True),
    ("emit_checkpoints_interval_s", "emit.checkpoints.interval.seconds", 60),
    ("offset_lag_max", "offset.lag.max", 100),
    ("refresh_groups_interval_s", "refresh.groups.interval.seconds", 600),
    ("refresh_topics_interval_s", "refresh.topics.interval.seconds", 600),
    ("emit_heartbeats_enabled", "emit.heartbeats.enabled", True),
    ("heartbeats_replication_enabled", "heartbeats.replication.enabled", True),
)
# (Flow field, MM2 key, MM2 default, pre-4.0 alias key).
_FLOW_PATTERNS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("topics", "topics", DEFAULT_TOPICS, "topics.whitelist"),
    ("topics_exclude", "topics.exclude", DEFAULT_TOPICS_EXCLUDE, "topics.blacklist"),
    ("groups", "groups", DEFAULT_GROUPS, "groups.whitelist"),
    ("groups_exclude", "groups.exclude", DEFAULT_GROUPS_EXCLUDE, "groups.blacklist"),
)


def build_flow(view: MM2View, source: str, target: str, overrides: Mapping[str, str]) -> Flow:
    prefix = f"{source}->{target}"
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    # "enabled" is read from the flow prefix only, like MirrorMakerConfig.clusterPairs().
    values["enabled"], origins["enabled"] = view.boolean("enabled", prefix, False, inherit=False)
    for attr, key, default in _FLOW_SCALARS:
        if isinstance(default, bool):
            values[attr], origins[key] = view.boolean(key, prefix, default)
        else:
            values[attr], origins[key] = view.integer(key, prefix, default)
    for attr, key, patterns, legacy in _FLOW_PATTERNS:
        values[attr], origins[key] = view.patterns(key, prefix, patterns, legacy)
    location, origins["offset-syncs.topic.location"] = view.string(
        "offset-syncs.topic.location", prefix, "source"
    )
    if location.lower() not in ("source", "target"):
        found = view.find("offset-syncs.topic.location", prefix)
        raise ConfigError(
            f"{found.where if found else view.props.source}: offset-syncs.topic.location = "
            f"{location!r} must be 'source' or 'target'"
        )
    policy_class, separator, internal = view.policy(prefix)
    origins["replication.policy.class"] = view.string("replication.policy.class", prefix, "")[1]
    return Flow(
        source=source,
        target=target,
        replication_policy_class=policy_class,
        replication_policy_separator=separator,
        internal_separator_enabled=internal,
        offset_syncs_topic_location="target" if location.lower() == "target" else "source",
        topic_overrides=dict(overrides),
        origins=origins,
        **values,
    )
