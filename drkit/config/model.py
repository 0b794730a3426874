"""The settings model: :class:`Settings` with its :class:`ClusterSettings`, :class:`Flow` and
:class:`MM2Settings` values, and MirrorMaker 2's own defaults for the flow settings."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from drkit.config.redaction import redact
from drkit.errors import ConfigError
from drkit.config.javaprops import PropertiesFile

if TYPE_CHECKING:
    from drkit.mm2.policy import ReplicationPolicy

DEFAULT_REPLICATION_POLICY = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
DEFAULT_TOPICS = (".*",)
#: MM2 4.x ``topics.exclude`` default. Releases up to 3.x used ``.*[\-\.]internal`` as the first
#: entry (see mm2-reference §2); set ``topics.exclude`` explicitly to reproduce those.
DEFAULT_TOPICS_EXCLUDE = (r"mm2.*\.internal", r".*\.replica", "__.*")
DEFAULT_GROUPS = (".*",)
DEFAULT_GROUPS_EXCLUDE = ("console-consumer-.*", "connect-.*", "__.*")


@dataclass(frozen=True, repr=False)
class ClusterSettings:
    """One Kafka cluster as drkit's librdkafka clients must reach it.

    ``client_config`` is ready for confluent-kafka. ``unmapped`` lists Java settings MM2 uses that
    librdkafka cannot (a JKS truststore, an unknown login module) and that drkit.toml did not
    replace; a client built anyway would fail late and obscurely, so I/O code must call
    :meth:`require_usable` (or use :meth:`usable_client_config`). ``notes`` is informational.
    """

    alias: str
    bootstrap_servers: str
    client_config: dict[str, str] = field(hash=False)
    unmapped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def require_usable(self) -> None:
        """Raise ConfigError if a setting MM2 relies on could not be given to librdkafka."""
        if self.unmapped:
            raise ConfigError("; ".join(self.unmapped))

    def usable_client_config(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A fresh librdkafka config (plus ``extra``), after :meth:`require_usable`."""
        self.require_usable()
        return {**self.client_config, **(extra or {})}

    def redacted(self) -> dict[str, Any]:
        """This cluster as plain data with secrets masked, for ``config show`` and reports."""
        return {
            "alias": self.alias,
            "bootstrap_servers": self.bootstrap_servers,
            "client_config": redact(self.client_config),
            "unmapped": list(self.unmapped),
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return (
            f"ClusterSettings(alias={self.alias!r}, bootstrap_servers={self.bootstrap_servers!r}, "
            f"client_config={redact(self.client_config)!r}, unmapped={self.unmapped!r})"
        )

    __str__ = __repr__


@functools.lru_cache(maxsize=256)
def _alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # MM2 joins the list with "|" and calls Matcher.matches(); an empty list matches nothing real.
    return re.compile("|".join(patterns))


def _first_full_match(patterns: tuple[str, ...], name: str) -> str | None:
    return next((p for p in patterns if re.fullmatch(p, name)), None)


@dataclass(frozen=True)
class Flow:
    """One MM2 replication flow ``source->target`` with the settings that shape what it writes.

    Defaults are MM2's own. ``origins`` says where each effective value came from
    (``file:line key`` or ``MM2 default``) so that reports can point at the line to change.
    """

    source: str
    target: str
    enabled: bool = False
    topics: tuple[str, ...] = DEFAULT_TOPICS
    topics_exclude: tuple[str, ...] = DEFAULT_TOPICS_EXCLUDE
    groups: tuple[str, ...] = DEFAULT_GROUPS
    groups_exclude: tuple[str, ...] = DEFAULT_GROUPS_EXCLUDE
    replication_policy_class: str = DEFAULT_REPLICATION_POLICY
    replication_policy_separator: str = "."
    internal_separator_enabled: bool = True
    offset_syncs_topic_location: Literal["source", "target"] = "source"
    sync_group_offsets_enabled: bool = False
    sync_group_offsets_interval_s: int = 60
    emit_checkpoints_enabled: bool = True
    emit_checkpoints_interval_s: int = 60
    offset_lag_max: int = 100
    refresh_groups_interval_s: int = 600
    refresh_topics_interval_s: int = 600
    emit_heartbeats_enabled: bool = True
    heartbeats_replication_enabled: bool = True
    topic_overrides: Mapping[str, str] = field(default_factory=dict, hash=False)
    origins: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        """``source->target``, the prefix MM2 uses for this flow's keys."""
        return f"{self.source}->{self.target}"

    def topic_included(self, topic: str) -> bool:
        """Whether MM2's default topic filter passes ``topic`` (heartbeats bypass filters)."""
        return bool(_alternation(self.topics).fullmatch(topic)) and not _alternation(
            self.topics_exclude
        ).fullmatch(topic)

    def group_included(self, group: str) -> bool:
        """Whether MM2 checkpoints ``group`` at all (``groups`` minus ``groups.exclude``)."""
        return bool(_alternation(self.groups).fullmatch(group)) and not _alternation(
            self.groups_exclude
        ).fullmatch(group)

    def topic_exclusion_reason(self, topic: str) -> str | None:
        """Why MM2's topic filter drops ``topic``, or None if it passes."""
        return self._reason("topics", self.topics, self.topics_exclude, topic)

    def group_exclusion_reason(self, group: str) -> str | None:
        """Why MM2 writes no checkpoints for ``group`` (e.g. a ``connect-*`` group), or None."""
        return self._reason("groups", self.groups, self.groups_exclude, group)

    @staticmethod
    def _reason(
        key: str, include: tuple[str, ...], exclude: tuple[str, ...], name: str
    ) -> str | None:
        hit = _first_full_match(exclude, name)
        if hit is None and _alternation(exclude).fullmatch(name):
            hit = "|".join(exclude)
        if hit is not None:
            return f"matches MM2 {key}.exclude pattern '{hit}'"
        if not _alternation(include).fullmatch(name):
            listed = ", ".join(f"'{p}'" for p in include) or "(empty list)"
            return f"does not match MM2 {key} pattern(s) {listed}"
        return None

    def policy(self) -> ReplicationPolicy:
        """The topic-naming policy MM2 uses for this flow (Default, Identity, ...)."""
        from drkit.mm2.policy import build_policy  # lazy: keeps config importable on its own

        try:
            return build_policy(
                self.replication_policy_class,
                separator=self.replication_policy_separator,
                internal_separator_enabled=self.internal_separator_enabled,
                source_alias=self.source,
                overrides=self.topic_overrides,
            )
        except ConfigError as exc:
            origin = self.origins.get("replication.policy.class", "MM2 default")
            raise ConfigError(f"{exc} (flow {self.name}; policy from {origin})") from None


@dataclass(frozen=True)
class MM2Settings:
    """MM2-wide (top-level) settings, the raw properties, and drkit's topic-name overrides."""

    clusters: tuple[str, ...]
    properties: PropertiesFile = field(hash=False)
    replication_policy_class: str = DEFAULT_REPLICATION_POLICY
    replication_policy_separator: str = "."
    internal_separator_enabled: bool = True
    topic_overrides: Mapping[str, str] = field(default_factory=dict, hash=False)
    version: str | None = None

    def policy(self, source_alias: str | None = None) -> ReplicationPolicy:
        """The top-level policy; prefer :meth:`Flow.policy`, which applies flow overrides."""
        from drkit.mm2.policy import build_policy

        return build_policy(
            self.replication_policy_class,
            separator=self.replication_policy_separator,
            internal_separator_enabled=self.internal_separator_enabled,
            source_alias=source_alias,
            overrides=self.topic_overrides,
        )


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything drkit knows about the deployment, built once per command."""

    config_path: Path | None
    mm2_config_path: Path
    state_dir: Path
    clusters: dict[str, ClusterSettings]
    flows: dict[tuple[str, str], Flow]
    mm2: MM2Settings
    runbook_dir: Path | None = None
    dns: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    failover: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mm2_properties(self) -> PropertiesFile:
        """The raw MM2 properties, for code that needs a key drkit does not model."""
        return self.mm2.properties

    def cluster(self, alias: str) -> ClusterSettings:
        """The cluster named ``alias``; ConfigError listing the known aliases otherwise."""
        try:
            return self.clusters[alias]
        except KeyError:
            known = ", ".join(self.clusters) or "(none)"
            raise ConfigError(
                f"unknown cluster '{alias}'; clusters in {self.mm2_config_path}: {known}"
            ) from None

    def flow(self, source: str, target: str) -> Flow:
        """The enabled MM2 flow ``source->target``; only an enabled flow writes checkpoints."""
        self.cluster(source)
        self.cluster(target)
        if source == target:
            raise ConfigError(f"source and target are the same cluster '{source}'")
        flow = self.flows[(source, target)]
        if not flow.enabled:
            path = self.mm2_config_path
            raise ConfigError(
                f"MM2 replication {flow.name} is not enabled ({flow.origins.get('enabled', '')}); "
                f"set {flow.name}.enabled = true in {path}"
            )
        return flow

    def redacted(self) -> dict[str, Any]:
        """All settings as plain data with secrets masked (safe to print or log)."""
        return {
            "config_path": str(self.config_path) if self.config_path else None,
            "mm2_config_path": str(self.mm2_config_path),
            "state_dir": str(self.state_dir),
            "runbook_dir": str(self.runbook_dir) if self.runbook_dir else None,
            "clusters": {alias: c.redacted() for alias, c in self.clusters.items()},
            "flows": sorted(f.name for f in self.flows.values() if f.enabled),
            "dns": redact(self.dns),
            "thresholds": redact(self.thresholds),
            "failover": redact(self.failover),
        }

    def __repr__(self) -> str:
        return f"Settings({self.redacted()!r})"

    __str__ = __repr__
