"""drkit's settings: ``drkit.toml`` plus the ``mm2.properties`` that MirrorMaker 2 itself runs with.

drkit reads the MM2 file rather than asking operators to restate it, because a second copy of
aliases, filters and the replication policy drifts from the truth, and a failover computed against
the wrong truth commits wrong offsets. ``drkit.toml`` only adds what MM2 cannot know (state dir,
DNS, librdkafka-only client settings, topic-name overrides for custom policies).

Key resolution follows ``MirrorMakerConfig``: ``<src>-><tgt>.<key>`` overrides ``<key>`` for a flow,
``<alias>.<key>`` overrides ``<key>`` for a cluster's clients. Java client settings are translated
to librdkafka names (``_client_config``); anything that cannot be translated is reported, never
dropped silently. Secrets never appear in a repr or an error message.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from drkit.errors import ConfigError
from drkit.javaprops import PropertiesFile, load_properties

if TYPE_CHECKING:
    from drkit.mm2.policy import ReplicationPolicy

ENV_VAR = "DRKIT_CONFIG"
DEFAULT_CONFIG_NAME = "drkit.toml"
DEFAULT_STATE_DIR = ".drkit"
DEFAULT_REPLICATION_POLICY = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
DEFAULT_TOPICS = (".*",)
#: MM2 4.x ``topics.exclude`` default. Releases up to 3.x used ``.*[\-\.]internal`` as the first
#: entry (see mm2-reference §2); set ``topics.exclude`` explicitly to reproduce those.
DEFAULT_TOPICS_EXCLUDE = (r"mm2.*\.internal", r".*\.replica", "__.*")
DEFAULT_GROUPS = (".*",)
DEFAULT_GROUPS_EXCLUDE = ("console-consumer-.*", "connect-.*", "__.*")
MASK = "***"
TOML_KEYS = frozenset(
    {"mm2_config", "state_dir", "runbook_dir", "clusters", "dns", "mm2", "status", "failover"}
)
_COMMA = re.compile(r"\s*,\s*")
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
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


# ----------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True, repr=False)
class Cluster:
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
            f"Cluster(alias={self.alias!r}, bootstrap_servers={self.bootstrap_servers!r}, "
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
    clusters: dict[str, Cluster]
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

    def cluster(self, alias: str) -> Cluster:
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


# ----------------------------------------------------------------------------------------------
# Loading


def find_config(
    explicit: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """The drkit.toml to use: ``explicit``, else ``$DRKIT_CONFIG``, else ``./drkit.toml``.

    An explicit path or ``$DRKIT_CONFIG`` that does not exist is an error (a typo must not make
    drkit run with other settings); a missing ``./drkit.toml`` just returns None.
    """
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else cwd
    for path, origin in ((explicit, "--config"), (env.get(ENV_VAR) or None, f"${ENV_VAR}")):
        if path is not None:
            resolved = base / Path(path).expanduser()
            if not resolved.is_file():
                raise ConfigError(f"config file {resolved} (from {origin}) does not exist")
            return resolved
    default = base / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def load_settings(
    config: str | Path | None = None,
    *,
    mm2_config: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Find and load drkit.toml and its MM2 file, or ``mm2_config`` alone.

    ``mm2_config`` (``--mm2-config``, relative to ``cwd``) wins over the toml's ``mm2_config``.
    Without a drkit.toml, state goes to ``./.drkit``.
    """
    base = Path.cwd() if cwd is None else cwd
    toml_path = find_config(config, environ, base)
    toml: dict[str, Any] = {} if toml_path is None else read_toml(toml_path)
    toml_dir = base if toml_path is None else toml_path.parent
    if mm2_config is not None:
        mm2_path = base / Path(mm2_config).expanduser()
    elif "mm2_config" in toml:
        mm2_path = toml_dir / Path(_toml_str(toml, "mm2_config", toml_path)).expanduser()
    elif toml_path is not None:
        raise ConfigError(f"{toml_path}: mm2_config is missing; name the MM2 properties file")
    else:
        raise ConfigError(
            f"no drkit config found (looked at --config, ${ENV_VAR} and "
            f"{base / DEFAULT_CONFIG_NAME}); pass --config drkit.toml "
            "or --mm2-config mm2.properties"
        )
    properties = load_properties(mm2_path)
    return build_settings(
        toml, properties, config_path=toml_path, mm2_config_path=mm2_path, base_dir=toml_dir
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; errors name the file and line tomllib reports."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line = int(match.group(1)) if match else text.count("\n") + 1
        raise ConfigError(f"{path}:{line}: invalid TOML: {exc}") from None


def build_settings(
    toml: Mapping[str, Any],
    properties: PropertiesFile,
    *,
    config_path: Path | None,
    mm2_config_path: Path,
    base_dir: Path,
) -> Settings:
    """Build Settings from parsed drkit.toml data and MM2 properties (pure; no file access)."""
    label = str(config_path) if config_path else "drkit settings"
    unknown = sorted(set(toml) - TOML_KEYS)
    if unknown:
        raise ConfigError(
            f"{label}: unknown top-level key '{unknown[0]}'; "
            f"allowed: {', '.join(sorted(TOML_KEYS))}"
        )
    view = _MM2View(properties)
    aliases = view.clusters()
    client_tables = _toml_clusters(toml, label, aliases, properties.source)
    overrides = _toml_topic_overrides(toml, label, aliases)
    policy_class, separator, internal = view.policy(None)
    mm2 = MM2Settings(aliases, properties, policy_class, separator, internal, overrides)
    clusters = {a: _cluster(view, a, client_tables.get(a, {})) for a in aliases}
    flows = {(s, t): _flow(view, s, t, overrides) for s in aliases for t in aliases if s != t}

    def path_of(key: str) -> Path | None:
        raw = toml.get(key)
        return None if raw is None else base_dir / Path(_toml_str(toml, key, label)).expanduser()

    return Settings(
        config_path=config_path,
        mm2_config_path=mm2_config_path,
        state_dir=path_of("state_dir") or base_dir / DEFAULT_STATE_DIR,
        clusters=clusters,
        flows=flows,
        mm2=mm2,
        runbook_dir=path_of("runbook_dir"),
        dns=_toml_table(toml, "dns", label),
        thresholds=_toml_table(toml, "status", label),
        failover=_toml_table(toml, "failover", label),
    )


def _toml_str(toml: Mapping[str, Any], key: str, label: object) -> str:
    value = toml[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label}: {key} must be a non-empty string (a path)")
    return value


def _toml_table(toml: Mapping[str, Any], key: str, label: str) -> dict[str, Any]:
    value = toml.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: {key} must be a table ([{key}])")
    return value


def _toml_clusters(
    toml: Mapping[str, Any], label: str, aliases: tuple[str, ...], mm2_file: str
) -> dict[str, dict[str, str]]:
    """``[clusters.<alias>.client]`` tables, values as librdkafka strings."""
    result: dict[str, dict[str, str]] = {}
    for alias, table in _toml_table(toml, "clusters", label).items():
        if alias not in aliases:
            raise ConfigError(
                f"{label}: [clusters.{alias}] names no cluster in {mm2_file} "
                f"(clusters = {', '.join(aliases)})"
            )
        if not isinstance(table, dict) or set(table) - {"client"}:
            raise ConfigError(
                f"{label}: [clusters.{alias}] may only hold a [clusters.{alias}.client] table"
            )
        client = table.get("client", {})
        if not isinstance(client, dict):
            raise ConfigError(f"{label}: clusters.{alias}.client must be a table")
        result[alias] = {}
        for key, value in client.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, int | float):
                value = str(value)
            if not isinstance(value, str):
                raise ConfigError(
                    f'{label}: clusters.{alias}.client."{key}" must be a string, number or bool'
                )
            result[alias][key] = value
    return result


def _toml_topic_overrides(
    toml: Mapping[str, Any], label: str, aliases: tuple[str, ...]
) -> dict[str, str]:
    """``[mm2.topics]``: explicit internal topic names for custom policies (KIP-690)."""
    mm2 = _toml_table(toml, "mm2", label)
    if set(mm2) - {"topics"}:
        raise ConfigError(
            f"{label}: unknown key 'mm2.{sorted(set(mm2) - {'topics'})[0]}'; allowed: topics"
        )
    raw = mm2.get("topics", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: mm2.topics must be a table")
    flat: dict[str, Any] = {}

    def flatten(prefix: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                flatten(f"{name}.", value)
            else:
                flat[name] = value

    flatten("", raw)
    for key, value in flat.items():
        kind, _, alias = key.partition(".")
        valid = key == "heartbeats" or (
            kind in ("checkpoints", "offset-syncs") and alias in aliases
        )
        if not valid:
            raise ConfigError(
                f'{label}: mm2.topics key "{key}" is not one of "heartbeats", '
                f'"checkpoints.<alias>", "offset-syncs.<alias>" (aliases: {", ".join(aliases)})'
            )
        if not isinstance(value, str) or not value:
            raise ConfigError(f'{label}: mm2.topics."{key}" must be a non-empty topic name')
    return flat


@dataclass(frozen=True)
class _Found:
    key: str  # the key as written, e.g. "primary->backup.topics"
    value: str
    where: str  # "file:line"

    @property
    def origin(self) -> str:
        return f"{self.where} {self.key}"


class _MM2View:
    """Typed, prefix-aware access to MM2 properties; every error names key, file and line."""

    def __init__(self, properties: PropertiesFile) -> None:
        self.props = properties

    def find(self, key: str, prefix: str | None = None, inherit: bool = True) -> _Found | None:
        candidates = ([f"{prefix}.{key}"] if prefix else []) + ([key] if inherit else [])
        for name in candidates:
            value = self.props.get(name)
            if value is not None:
                return _Found(name, value, self.props.where(name))
        return None

    def clusters(self) -> tuple[str, ...]:
        found = self.find("clusters")
        aliases = tuple(dict.fromkeys(a for a in _split_list(found.value if found else "")))
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
        items = tuple(_split_list(found.value))
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


def _split_list(text: str) -> Iterator[str]:
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


def _flow(view: _MM2View, source: str, target: str, overrides: Mapping[str, str]) -> Flow:
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


# ----------------------------------------------------------------------------------------------
# Java client settings -> librdkafka

# Same name and meaning in the Java client and librdkafka.
_PASSTHROUGH = (
    "security.protocol",
    "sasl.mechanism",
    "client.id",
    "ssl.cipher.suites",
    "sasl.kerberos.service.name",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "metadata.max.age.ms",
    "socket.connection.setup.timeout.ms",
    "connections.max.idle.ms",
)
# Handled below (or harmless to drop, like a PEM truststore's unused password).
_HANDLED = frozenset(
    {
        "bootstrap.servers",
        "sasl.jaas.config",
        "ssl.truststore.location",
        "ssl.truststore.type",
        "ssl.truststore.password",
        "ssl.truststore.certificates",
        "ssl.keystore.location",
        "ssl.keystore.type",
        "ssl.keystore.password",
        "ssl.keystore.key",
        "ssl.keystore.certificate.chain",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
        *_PASSTHROUGH,
    }
)
# Java-only settings without which the Java client would not authenticate the same way.
_BLOCKING = {
    "sasl.login.callback.handler.class": ("sasl.*",),
    "sasl.client.callback.handler.class": ("sasl.*",),
    "sasl.login.class": ("sasl.*",),
    "ssl.engine.factory.class": ("ssl.*",),
}
_PLAIN_SCRAM_MODULES = (
    "org.apache.kafka.common.security.plain.PlainLoginModule",
    "org.apache.kafka.common.security.scram.ScramLoginModule",
)
_KRB5_MODULE = "com.sun.security.auth.module.Krb5LoginModule"


@dataclass(frozen=True)
class _Gap:
    """A Java setting librdkafka cannot take; ``fixed_by`` keys (``x.*`` = prefix) replace it."""

    message: str
    fixed_by: tuple[str, ...]

    def fixed(self, given: Mapping[str, str]) -> str | None:
        for want in self.fixed_by:
            for key in given:
                if key == want or (want.endswith("*") and key.startswith(want[:-1])):
                    return key
        return None


def _java_client_settings(view: _MM2View, alias: str) -> dict[str, _Found]:
    """Java client keys for ``alias``: top-level ones, overridden by ``<alias>.``-prefixed ones."""
    merged: dict[str, _Found] = {}
    prefix = f"{alias}."
    for key in view.props:
        name = key[len(prefix) :] if key.startswith(prefix) else key
        if name in _HANDLED or name in _BLOCKING or name.startswith(("ssl.", "sasl.")):
            found = view.find(name, alias)
            if found is not None:
                merged[name] = found
    return merged


def _store_kind(found_type: _Found | None, location: str) -> str:
    """Keystore type as the Java client sees it: explicit type, else JKS (its default)."""
    if location.lower().endswith(".jks"):
        return "JKS"
    if found_type is not None and found_type.value.strip():
        return found_type.value.strip().upper()
    return "PKCS12" if location.lower().endswith((".p12", ".pfx")) else "JKS"


def _map_ssl(
    java: Mapping[str, _Found], alias: str, out: dict[str, str], gaps: list[_Gap], notes: list[str]
) -> None:
    def value(key: str) -> str | None:
        found = java.get(key)
        return None if found is None else found.value.strip()

    trust = value("ssl.truststore.location")
    if trust:
        kind = _store_kind(java.get("ssl.truststore.type"), trust)
        if kind == "PEM":
            out["ssl.ca.location"] = trust
        else:
            gaps.append(
                _Gap(
                    f"{kind} truststore {trust} for cluster {alias} cannot be used by librdkafka; "
                    f'give a PEM via [clusters.{alias}.client] "ssl.ca.location" in drkit.toml',
                    ("ssl.ca.location", "ssl.ca.pem"),
                )
            )
    if value("ssl.truststore.certificates"):
        out["ssl.ca.pem"] = java["ssl.truststore.certificates"].value
    keystore = value("ssl.keystore.location")
    if keystore:
        kind = _store_kind(java.get("ssl.keystore.type"), keystore)
        if kind == "PEM":
            out["ssl.certificate.location"] = keystore
            out["ssl.key.location"] = keystore
        elif kind == "PKCS12":
            out["ssl.keystore.location"] = keystore
            if "ssl.keystore.password" in java:
                out["ssl.keystore.password"] = java["ssl.keystore.password"].value
        else:
            gaps.append(
                _Gap(
                    f"{kind} keystore {keystore} for cluster {alias} cannot be used by librdkafka; "
                    f'give PEM files via [clusters.{alias}.client] "ssl.certificate.location" and '
                    '"ssl.key.location" (or a PKCS12 "ssl.keystore.location") in drkit.toml',
                    ("ssl.certificate.location", "ssl.certificate.pem", "ssl.keystore.location"),
                )
            )
    if value("ssl.keystore.key"):
        out["ssl.key.pem"] = java["ssl.keystore.key"].value
    if value("ssl.keystore.certificate.chain"):
        out["ssl.certificate.pem"] = java["ssl.keystore.certificate.chain"].value
    if "ssl.key.password" in java and ("ssl.key.location" in out or "ssl.key.pem" in out):
        out["ssl.key.password"] = java["ssl.key.password"].value
    algorithm = java.get("ssl.endpoint.identification.algorithm")
    if algorithm is not None:
        text = algorithm.value.strip().lower()
        if text in ("", "none", "https"):
            out["ssl.endpoint.identification.algorithm"] = text or "none"
        else:
            notes.append(
                f"{algorithm.origin}: endpoint identification {text!r} has no "
                "librdkafka equivalent; librdkafka's default (https) applies"
            )


def _map_sasl(
    java: Mapping[str, _Found], alias: str, out: dict[str, str], gaps: list[_Gap]
) -> None:
    mechanism = (
        java["sasl.mechanism"].value.strip().upper() if "sasl.mechanism" in java else "GSSAPI"
    )
    protocol = (
        java["security.protocol"].value.strip().upper() if "security.protocol" in java else ""
    )
    jaas = java.get("sasl.jaas.config")
    if jaas is None:
        if protocol.startswith("SASL") and mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            gaps.append(
                _Gap(
                    f"cluster {alias} uses SASL {mechanism} but {alias}.sasl.jaas.config is "
                    'not set (a JAAS file given to the JVM?); set "sasl.username" and '
                    f'"sasl.password" under [clusters.{alias}.client] in drkit.toml',
                    ("sasl.username",),
                )
            )
        return
    try:
        module, options = parse_jaas_config(jaas.value)
    except ValueError as exc:
        raise ConfigError(f"{jaas.where}: {jaas.key}: {exc}") from None
    if module in _PLAIN_SCRAM_MODULES and "username" in options and "password" in options:
        out["sasl.username"] = options["username"]
        out["sasl.password"] = options["password"]
    elif module == _KRB5_MODULE and "keyTab" in options and "principal" in options:
        out["sasl.kerberos.keytab"] = options["keyTab"]
        out["sasl.kerberos.principal"] = options["principal"]
    else:
        gaps.append(
            _Gap(
                f"{jaas.origin}: login module {module} for cluster {alias} cannot be mapped to "
                "librdkafka (drkit maps PlainLoginModule/ScramLoginModule username+password and "
                f'Krb5LoginModule keyTab+principal); set the librdkafka "sasl.*" settings under '
                f"[clusters.{alias}.client] in drkit.toml",
                ("sasl.*",),
            )
        )


def _cluster(view: _MM2View, alias: str, toml_client: Mapping[str, str]) -> Cluster:
    bootstrap = view.find("bootstrap.servers", alias, inherit=False)
    if bootstrap is None or not bootstrap.value.strip():
        raise ConfigError(
            f"{view.props.source}: {alias}.bootstrap.servers is missing; every alias in "
            "'clusters' needs one"
        )
    java = _java_client_settings(view, alias)
    out: dict[str, str] = {"bootstrap.servers": ",".join(_split_list(bootstrap.value))}
    gaps: list[_Gap] = []
    notes: list[str] = []
    for key in _PASSTHROUGH:
        if key in java and java[key].value.strip():
            out[key] = java[key].value.strip()
    _map_ssl(java, alias, out, gaps, notes)
    _map_sasl(java, alias, out, gaps)
    for key, found in java.items():
        if key in _BLOCKING:
            gaps.append(
                _Gap(
                    f"{found.origin}: {key} for cluster {alias} has no librdkafka equivalent; "
                    f"set the librdkafka equivalents under [clusters.{alias}.client] in drkit.toml",
                    _BLOCKING[key],
                )
            )
        elif key not in _HANDLED:
            notes.append(f"{found.origin}: {key} has no librdkafka equivalent; ignored")
    out.update(toml_client)
    unmapped: list[str] = []
    for gap in gaps:
        fixed = gap.fixed(toml_client)
        if fixed is None:
            unmapped.append(gap.message)
        else:
            notes.append(f'{gap.message} (done: drkit.toml sets "{fixed}")')
    return Cluster(alias, out["bootstrap.servers"], out, tuple(unmapped), tuple(notes))


# ----------------------------------------------------------------------------------------------
# sasl.jaas.config

_JAAS_FLAGS = ("required", "requisite", "sufficient", "optional")
_JAAS_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def parse_jaas_config(text: str) -> tuple[str, dict[str, str]]:
    """Parse a ``sasl.jaas.config`` value into (login module class, options).

    Follows Kafka's ``JaasConfig`` (a ``StreamTokenizer``): ``Module flag key=value ... ;``, values
    bare or quoted with ``"`` or ``'`` and backslash escapes, ``//`` and ``/* */`` comments, and
    exactly one module. Raises ValueError with a message that never quotes the text, because the
    text holds a password.
    """
    tokens = list(_jaas_tokens(text))
    if not tokens or tokens[0][0] != "word":
        raise ValueError("expected a login module class name")
    module = tokens[0][1]
    if len(tokens) < 2 or tokens[1][0] != "word" or tokens[1][1].lower() not in _JAAS_FLAGS:
        raise ValueError(f"expected a control flag ({'/'.join(_JAAS_FLAGS)}) after {module}")
    options: dict[str, str] = {}
    pos = 2
    while pos < len(tokens) and tokens[pos] != ("op", ";"):
        if (
            pos + 2 >= len(tokens)
            or tokens[pos][0] != "word"
            or tokens[pos + 1] != ("op", "=")
            or tokens[pos + 2][0] == "op"
        ):
            raise ValueError("expected key=value options after the control flag")
        options[tokens[pos][1]] = tokens[pos + 2][1]
        pos += 3
    if pos >= len(tokens):
        raise ValueError("the login module entry must end with ';'")
    if pos + 1 != len(tokens):
        raise ValueError("must contain exactly one login module")
    return module, options


def _jaas_tokens(text: str) -> Iterator[tuple[str, str]]:
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif text.startswith("//", pos):
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise ValueError("unterminated /* comment")
            pos = end + 2
        elif char in "=;":
            yield "op", char
            pos += 1
        elif char in "\"'":
            value, pos = _jaas_quoted(text, pos)
            yield "str", value
        else:
            start = pos
            while pos < len(text) and not (
                text[pos].isspace() or text[pos] in "=;\"'" or text.startswith(("//", "/*"), pos)
            ):
                pos += 1
            yield "word", text[start:pos]


def _jaas_quoted(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    out: list[str] = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(text):
            nxt = text[pos + 1]
            octal = re.match(r"[0-3][0-7]{0,2}|[4-7][0-7]?", text[pos + 1 :])
            if octal:
                out.append(chr(int(octal.group(), 8)))
                pos += 1 + len(octal.group())
                continue
            out.append(_JAAS_ESCAPES.get(nxt, nxt))
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise ValueError("unterminated quoted value")
