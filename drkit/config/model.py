"""The settings model: :class:`Settings` with its :class:`ClusterSettings`, :class:`Flow` and
:class:`MM2Settings` values, and MirrorMaker 2's own defaults for the flow settings."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from drkit.config.javaprops import PropertiesFile
from drkit.config.redaction import is_secret_key, redact
from drkit.errors import ConfigError

if TYPE_CHECKING:
    from drkit.mm2.policy import ReplicationPolicy

DEFAULT_REPLICATION_POLICY = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
DEFAULT_TOPICS = (".*",)
#: MM2 4.x ``topics.exclude`` default. Releases up to 3.x used ``.*[\-\.]internal`` as the first
#: entry (see mm2-reference §2); set ``topics.exclude`` explicitly to reproduce those.
DEFAULT_TOPICS_EXCLUDE = (r"mm2.*\.internal", r".*\.replica", "__.*")
DEFAULT_GROUPS = (".*",)
DEFAULT_GROUPS_EXCLUDE = ("console-consumer-.*", "connect-.*", "__.*")


@dataclass(frozen=True)
class RoleConfig:
    """The librdkafka config for one client role (consumer, admin, producer) of a cluster.

    Built from the Java settings MM2's own clients of that role get (``<alias>.<role>.*`` over
    ``<alias>.*`` over the top level, see :func:`drkit.config.client_mapping.build_cluster`).
    """

    config: dict[str, str] = field(hash=False)
    unmapped: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class ClusterSettings:
    """One Kafka cluster as drkit's librdkafka clients must reach it.

    ``client_config`` is ready for confluent-kafka. ``unmapped`` lists Java settings MM2 uses that
    librdkafka cannot (a JKS truststore, an unknown login module) and that drkit.toml did not
    replace; a client built anyway would fail late and obscurely, so I/O code must call
    :meth:`require_usable` (or use :meth:`usable_client_config`). ``notes`` is informational.

    ``problems`` are configuration errors of this cluster (no bootstrap servers, a config provider
    that cannot be resolved, a malformed JAAS entry): they are raised only when the cluster is
    used, so one bad cluster does not block commands about the others. ``roles`` holds the
    consumer/admin/producer configs (:meth:`consumer_client_config`, :meth:`admin_client_config`).
    """

    alias: str
    bootstrap_servers: str
    client_config: dict[str, str] = field(hash=False)
    unmapped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    roles: Mapping[str, RoleConfig] = field(default_factory=dict, hash=False, compare=False)

    def require_usable(self) -> None:
        """Raise ConfigError if this cluster cannot be used or a setting MM2 relies on could not
        be given to librdkafka."""
        if self.problems:
            raise ConfigError("; ".join(self.problems))
        if self.unmapped:
            raise ConfigError("; ".join(self.unmapped))

    def usable_client_config(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A fresh librdkafka config (plus ``extra``), after :meth:`require_usable`.

        This is the cluster-level config (``<alias>.*`` over the top level); for a consumer or an
        admin client prefer :meth:`consumer_client_config` / :meth:`admin_client_config`, which
        add MM2's ``<alias>.consumer.*`` / ``<alias>.admin.*`` overrides.
        """
        self.require_usable()
        return {**self.client_config, **(extra or {})}

    def role_client_config(
        self, role: str, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The librdkafka config MM2's ``role`` clients (consumer, admin, producer) of this
        cluster would use, plus ``extra``; ConfigError if it is not usable."""
        config = self.roles.get(role)
        if config is None:  # built by hand, without roles: the cluster-level config
            return self.usable_client_config(extra)
        if self.problems or config.problems:
            raise ConfigError("; ".join((*self.problems, *config.problems)))
        if config.unmapped:
            raise ConfigError("; ".join(config.unmapped))
        return {**config.config, **(extra or {})}

    @property
    def consumer_config(self) -> dict[str, str]:
        """The consumer role's librdkafka config as built, unchecked (like ``client_config``)."""
        role = self.roles.get("consumer")
        return self.client_config if role is None else role.config

    @property
    def admin_config(self) -> dict[str, str]:
        """The admin role's librdkafka config as built, unchecked (like ``client_config``)."""
        role = self.roles.get("admin")
        return self.client_config if role is None else role.config

    def consumer_client_config(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Config for a consumer of this cluster: MM2's consumer settings (``<alias>.consumer.*``
        over ``<alias>.*`` over the top level for client/security keys) plus ``extra``."""
        return self.role_client_config("consumer", extra)

    def admin_client_config(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Config for an admin client of this cluster: MM2's admin settings
        (``<alias>.admin.*`` over ``<alias>.*`` over the top level) plus ``extra``."""
        return self.role_client_config("admin", extra)

    def secret_values(self) -> list[str]:
        """Every secret value in any of this cluster's configs (for journal/audit scrubbing)."""
        configs = [self.client_config, *(r.config for r in self.roles.values())]
        return list(dict.fromkeys(
            v for config in configs for k, v in config.items() if v and is_secret_key(k)
        ))

    def redacted(self) -> dict[str, Any]:
        """This cluster as plain data with secrets masked, for ``config show`` and reports."""
        return {
            "alias": self.alias,
            "bootstrap_servers": self.bootstrap_servers,
            "client_config": redact(self.client_config),
            "roles": {name: redact(r.config) for name, r in self.roles.items()},
            "unmapped": list(self.unmapped),
            "notes": list(self.notes),
            "problems": list(self.problems),
        }

    def __repr__(self) -> str:
        return (
            f"ClusterSettings(alias={self.alias!r}, bootstrap_servers={self.bootstrap_servers!r}, "
            f"client_config={redact(self.client_config)!r}, unmapped={self.unmapped!r}, "
            f"problems={self.problems!r})"
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
    emit_offset_syncs_enabled: bool = True
    topic_overrides: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: ``source.cluster.alias``/``target.cluster.alias`` when the file sets them (top level or
    #: flow level): MM2's connectors then name topics after these, not after ``source``/``target``.
    source_cluster_alias: str | None = None
    target_cluster_alias: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    #: Invalid settings of this flow; raised by :meth:`require_valid` when a command uses it.
    problems: tuple[str, ...] = field(default=(), compare=False)
    #: Settings this flow's MM2 version ignores or reads differently than they look.
    notes: tuple[str, ...] = field(default=(), compare=False)

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

    def require_valid(self) -> None:
        """Raise ConfigError (one line per problem, joined) if a setting of this flow is invalid."""
        if self.problems:
            raise ConfigError("; ".join(self.problems))

    def checkpoints_disabled_reason(self) -> str | None:
        """Why MM2 writes no checkpoints for this flow, naming the setting and its line, or None.

        ``emit.checkpoints.enabled = false`` stops them; so does ``emit.offset-syncs.enabled =
        false`` (without offset syncs MM2's checkpoint connector refuses to run).
        """
        for key, on in (
            ("emit.checkpoints.enabled", self.emit_checkpoints_enabled),
            ("emit.offset-syncs.enabled", self.emit_offset_syncs_enabled),
        ):
            if not on:
                origin = self.origins.get(key, key)
                return (f"MM2 writes no checkpoints for {self.name}: {key} = false "
                        f"at {origin}")
        return None

    @property
    def naming_aliases(self) -> dict[str, str]:
        """Real alias -> the alias MM2's connectors of this flow name topics after."""
        names: dict[str, str] = {}
        if self.source_cluster_alias is not None and self.source_cluster_alias != self.source:
            names[self.source] = self.source_cluster_alias
        if self.target_cluster_alias is not None and self.target_cluster_alias != self.target:
            names[self.target] = self.target_cluster_alias
        return names

    def policy(self) -> ReplicationPolicy:
        """The topic-naming policy MM2 uses for this flow (Default, Identity, ...).

        Call its methods with the real aliases (``flow.source``, ``flow.target``): when the file
        sets ``source.cluster.alias``/``target.cluster.alias``, the returned policy names topics
        after those, as MM2's connectors do.
        """
        from drkit.mm2.policy import build_policy  # lazy: keeps config importable on its own

        try:
            policy = build_policy(
                self.replication_policy_class,
                separator=self.replication_policy_separator,
                internal_separator_enabled=self.internal_separator_enabled,
                source_alias=(self.source if self.source_cluster_alias is None
                              else self.source_cluster_alias),
                overrides=self.topic_overrides,
            )
        except ConfigError as exc:
            origin = self.origins.get("replication.policy.class", "MM2 default")
            hint = f". {TOPIC_OVERRIDES_HINT}" if "override" in str(exc) else ""
            raise ConfigError(f"{exc} (flow {self.name}; policy from {origin}){hint}") from None
        if not self.naming_aliases:
            return policy
        from drkit.config.naming import AliasedPolicy

        return AliasedPolicy(policy, self.naming_aliases)

    # -- MM2's names for this flow's topics (what the connectors of this flow use) -----------

    def checkpoints_topic(self) -> str:
        """The checkpoints topic MM2 writes for this flow (on the target)."""
        return self.policy().checkpoints_topic(self.source)

    def offset_syncs_topic(self) -> tuple[str, str]:
        """(alias of the cluster holding this flow's offset-syncs topic, topic name)."""
        return self.policy().offset_syncs_location(
            self.source, self.target, self.offset_syncs_topic_location
        )

    def remote_topic(self, topic: str) -> str:
        """The name on the target of source topic ``topic``."""
        return self.policy().format_remote_topic(self.source, topic)

    def remote_heartbeats_topic(self) -> str:
        """The name on the target of the source's heartbeats topic."""
        return self.policy().remote_heartbeats_topic(self.source)


TOPIC_OVERRIDES_HINT = (
    "Give the names in drkit.toml under [mm2.topics] (heartbeats = \"NAME\", "
    "\"checkpoints.<alias>\" = \"NAME\", \"offset-syncs.<alias>\" = \"NAME\") or on the command "
    "line with --topic-name KEY=NAME (repeatable); with --mm2-config alone, create a drkit.toml "
    "next to it with mm2_config = \"<file>\" and an [mm2.topics] table"
)


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
    drill: Mapping[str, Any] = field(default_factory=dict)

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
        """The enabled MM2 flow ``source->target``; only an enabled flow writes checkpoints.

        Raises ConfigError for a problem of this flow or of its two clusters (problems of other
        flows and clusters are only warnings: see :meth:`notes_for`).
        """
        clusters = [self.cluster(source), self.cluster(target)]
        if source == target:
            raise ConfigError(f"source and target are the same cluster '{source}'")
        flow = self.flows[(source, target)]
        flow.require_valid()
        for cluster in clusters:
            if cluster.problems:
                raise ConfigError("; ".join(cluster.problems))
        if not flow.enabled:
            path = self.mm2_config_path
            raise ConfigError(
                f"MM2 replication {flow.name} is not enabled ({flow.origins.get('enabled', '')}); "
                f"set {flow.name}.enabled = true in {path}"
            )
        return flow

    def notes_for(self, flows: Iterable[tuple[str, str]] = ()) -> list[str]:
        """What a command using ``flows`` (``(source, target)`` pairs) should show the operator.

        The notes of those flows and of their clusters (e.g. a setting the MM2 version ignores),
        then one ``warning:`` line per problem of any *other* flow or cluster, which that command
        does not use and therefore does not fail for. With no flows: all notes and warnings.
        """
        used = [self.flows[pair] for pair in flows if pair in self.flows]
        aliases = {a for f in used for a in (f.source, f.target)}
        every = not used
        out: list[str] = []
        for flow in self.flows.values():
            if flow in used or (every and flow.enabled):
                out += flow.notes
            if flow not in used and flow.problems and (
                flow.enabled or flow.origins.get("enabled") == "invalid"
            ):
                label = "" if every else " (not used here)"
                out += [f"warning: flow {flow.name}{label}: {p}" for p in flow.problems]
        for alias, cluster in self.clusters.items():
            if every or alias in aliases:
                out += cluster.notes
                if every:
                    out += [f"warning: cluster {alias}: {p}" for p in cluster.problems]
            else:
                out += [f"warning: cluster {alias} (not used here): {p}" for p in cluster.problems]
        return list(dict.fromkeys(out))

    def secret_values(self) -> list[str]:
        """Every secret value of every cluster's configs (all roles, providers resolved)."""
        return list(dict.fromkeys(v for c in self.clusters.values() for v in c.secret_values()))

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
            "drill": redact(self.drill),
        }

    def __repr__(self) -> str:
        return f"Settings({self.redacted()!r})"

    __str__ = __repr__
