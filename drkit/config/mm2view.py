"""MM2 key resolution, as ``MirrorMakerConfig`` does it, and the :class:`Flow` it yields.

``<src>-><tgt>.<key>`` overrides ``<key>`` for a flow, ``<alias>.<key>`` overrides ``<key>`` for a
cluster's clients. Every value keeps its origin (``file:line key``) for error messages and reports,
and ``${provider:[path:]key}`` variables are resolved (:mod:`drkit.config.providers`).

Values are typed the way MM2 types them: ``ConfigDef`` trims and checks BOOLEAN/LONG/STRING/LIST
values of connector settings, while ``clusterPairs()`` and the replication policy read a few
booleans with ``Boolean.parseBoolean`` (no trimming: ``true `` is false). An invalid value does
not stop MM2 (only that flow's connectors are refused), so it does not stop drkit either: it
becomes a *problem* of the flow, raised when a command uses that flow.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from drkit.config.javaprops import PropertiesFile
from drkit.config.model import (
    DEFAULT_GROUPS,
    DEFAULT_GROUPS_EXCLUDE,
    DEFAULT_REPLICATION_POLICY,
    DEFAULT_TOPICS,
    DEFAULT_TOPICS_EXCLUDE,
    Flow,
)
from drkit.config.providers import ConfigProviders
from drkit.errors import ConfigError

_COMMA = re.compile(r"\s*,\s*")


def java_trim(text: str) -> str:
    """``String.trim()``: strip every char up to U+0020 at both ends (not Unicode blanks)."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def java_equals_ignore_case(text: str, other: str) -> bool:
    """``String.equalsIgnoreCase``: same length, chars equal after upper- or lower-casing."""
    return len(text) == len(other) and all(
        a == b or a.upper() == b.upper() or a.lower() == b.lower()
        for a, b in zip(text, other, strict=True)
    )


def parse_boolean(raw: str | None) -> bool:
    """``Boolean.parseBoolean``: only ``true`` in any case, untrimmed, is true."""
    return raw is not None and java_equals_ignore_case(raw, "true")


@dataclass(frozen=True)
class Found:
    """One MM2 key as resolved: the key as written, its value, and the line that set it.

    ``value`` has config-provider variables resolved; ``raw`` is the text in the file.
    """

    key: str  # the key as written, e.g. "primary->backup.topics"
    value: str
    where: str  # "file:line"
    raw: str | None = None

    @property
    def origin(self) -> str:
        return f"{self.where} {self.key}"


class MM2View:
    """Typed, prefix-aware access to MM2 properties; every error names key, file and line."""

    def __init__(
        self, properties: PropertiesFile, providers: ConfigProviders | None = None
    ) -> None:
        self.props = properties
        self.providers = providers if providers is not None else ConfigProviders(properties)

    def get(self, name: str) -> Found | None:
        """Exactly the key ``name`` (no prefix logic), its value resolved."""
        raw = self.props.get(name)
        if raw is None:
            return None
        where = self.props.where(name)
        return Found(name, self.providers.resolve(raw, name, where), where, raw)

    def find(self, key: str, prefix: str | None = None, inherit: bool = True) -> Found | None:
        candidates = ([f"{prefix}.{key}"] if prefix else []) + ([key] if inherit else [])
        for name in candidates:
            found = self.get(name)
            if found is not None:
                return found
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
        """A ConfigDef STRING: trimmed."""
        found = self.find(key, prefix)
        return (default, "MM2 default") if found is None else (java_trim(found.value), found.origin)

    def boolean(
        self, key: str, prefix: str | None, default: bool, inherit: bool = True
    ) -> tuple[bool, str]:
        """A ConfigDef BOOLEAN: trimmed, ``true``/``false`` in any case, anything else invalid."""
        found = self.find(key, prefix, inherit)
        if found is None:
            return default, "MM2 default"
        return config_boolean(found), found.origin

    def integer(self, key: str, prefix: str | None, default: int) -> tuple[int, str]:
        found = self.find(key, prefix)
        if found is None:
            return default, "MM2 default"
        text = java_trim(found.value)
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise ConfigError(f"{found.where}: {found.key} = {found.value!r} is not an integer"
                              f"{_comment_hint(found.value)}")
        return int(text), found.origin

    def patterns(
        self, key: str, prefix: str | None, default: tuple[str, ...], legacy: str | None,
        no_empty_items: bool = True,
    ) -> tuple[tuple[str, ...], str]:
        """A regex list; ``legacy`` (pre-4.0 ``*.blacklist``) counts only where ``key`` is unset.

        That is ``ConfigUtils.translateDeprecatedConfigs`` on the merged connector config: a
        ``key`` anywhere (flow or top level) wins over the legacy key anywhere.
        ``no_empty_items``: Kafka 4.x's ``ValidList`` rejects an empty item (a stray comma),
        so MM2 4.x does not run the flow; older versions dropped it.
        """
        found = self.find(key, prefix) or (self.find(legacy, prefix) if legacy else None)
        if found is None:
            return default, "MM2 default"
        stripped = java_trim(found.value)
        if no_empty_items and stripped and not all(_COMMA.split(stripped)):
            raise ConfigError(
                f"{found.where}: {found.key} = {found.value!r} has an empty item (a stray "
                "comma); MM2 4.x rejects it ('values must not be empty') and does not run "
                "this flow: remove the comma")
        items = tuple(split_list(found.value))
        for pattern in (*items, "|".join(items)):
            try:
                with warnings.catch_warnings():
                    # Python warns (FutureWarning) where it reads a class differently than Java
                    # does: '[a-z&&[^x]]' is an intersection to Java, literal '&' to Python.
                    warnings.simplefilter("error", FutureWarning)
                    re.compile(f"(?:{pattern})")  # a key no other code compiles: not cached
            except FutureWarning as exc:
                raise ConfigError(
                    f"{found.where}: {found.key}: regex '{pattern}' uses Java-only syntax "
                    f"({exc}): java.util.regex and drkit would select different names; "
                    "rewrite it without nested classes or &&, --, ~~ in a class") from None
            except re.error as exc:
                raise ConfigError(
                    f"{found.where}: {found.key}: invalid regex '{pattern}': {exc}"
                ) from None
        return items, found.origin

    def policy(self, prefix: str | None) -> tuple[str, str, bool]:
        """(policy class, separator, internal-separator flag) as the policy's configure() sees them.

        ``DefaultReplicationPolicy.configure`` takes the separator untrimmed (an empty one is
        allowed: the pre-3.0 "keep topic names" trick) and reads the internal-separator flag with
        ``Boolean.parseBoolean``, and only when the separator is set; the connector's ConfigDef
        still rejects a flag that is not a boolean. (Without a separator the flag changes
        nothing: the separator and the internal separator are both ".".)
        """
        policy_class, _ = self.string(
            "replication.policy.class", prefix, DEFAULT_REPLICATION_POLICY
        )
        found = self.find("replication.policy.separator", prefix)
        separator = "." if found is None else found.value
        flag = self.find("replication.policy.internal.topic.separator.enabled", prefix)
        if flag is not None:
            config_boolean(flag)  # validity, as the connector's ConfigDef checks it
        # Only with a separator set does the flag change names; either way parseBoolean reads it.
        internal = True if flag is None else parse_boolean(flag.value)
        return policy_class or DEFAULT_REPLICATION_POLICY, separator, internal


def config_boolean(found: Found) -> bool:
    """ConfigDef BOOLEAN parsing of ``found``; ConfigError (file:line key) if invalid."""
    text = java_trim(found.value)
    if java_equals_ignore_case(text, "true"):
        return True
    if java_equals_ignore_case(text, "false"):
        return False
    raise ConfigError(
        f"{found.where}: {found.key} = {found.value!r} is not a boolean; use true or false"
        f"{_comment_hint(found.value)}"
    )


def _comment_hint(value: str) -> str:
    if "#" in value or "!" in value:
        return (" (Java properties keep an inline '#' or '!' comment as part of the value; "
                "put comments on their own line)")
    return ""


def split_list(text: str) -> Iterator[str]:
    """ConfigDef LIST parsing: trim, split on commas with surrounding blanks, drop empties."""
    stripped = java_trim(text)
    return (item for item in _COMMA.split(stripped) if item) if stripped else iter(())


# (Flow field, MM2 key, MM2 default): the typed per-flow settings, resolved flow-first.
_FLOW_SCALARS: tuple[tuple[str, str, bool | int], ...] = (
    ("sync_group_offsets_enabled", "sync.group.offsets.enabled", False),
    ("sync_group_offsets_interval_s", "sync.group.offsets.interval.seconds", 60),
    ("emit_checkpoints_enabled", "emit.checkpoints.enabled", True),
    ("emit_checkpoints_interval_s", "emit.checkpoints.interval.seconds", 60),
    ("emit_offset_syncs_enabled", "emit.offset-syncs.enabled", True),
    ("offset_lag_max", "offset.lag.max", 100),
    ("refresh_groups_interval_s", "refresh.groups.interval.seconds", 600),
    ("refresh_topics_interval_s", "refresh.topics.interval.seconds", 600),
    ("emit_heartbeats_enabled", "emit.heartbeats.enabled", True),
    ("heartbeats_replication_enabled", "heartbeats.replication.enabled", True),
)
# (Flow field, MM2 key, MM2 default, deprecated alias MM2 < 4.0 honoured, removed in 4.0).
_FLOW_PATTERNS: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("topics", "topics", DEFAULT_TOPICS, None),
    ("topics_exclude", "topics.exclude", DEFAULT_TOPICS_EXCLUDE, "topics.blacklist"),
    ("groups", "groups", DEFAULT_GROUPS, None),
    ("groups_exclude", "groups.exclude", DEFAULT_GROUPS_EXCLUDE, "groups.blacklist"),
)
# Keys MM2 never read (its include lists were always "topics" and "groups").
_NEVER_READ = {"topics.whitelist": "topics", "groups.whitelist": "groups"}
_REMOVED_IN_4 = {
    "topics.blacklist": "topics.exclude",
    "groups.blacklist": "groups.exclude",
    "config.properties.blacklist": "config.properties.exclude",
}


def _legacy_notes(
    view: MM2View, prefix: str, legacy_filters: bool, version: str | None
) -> list[str]:
    """Notes on filter keys this MM2 version ignores (or honours only as deprecated aliases)."""
    notes: list[str] = []
    for key, use in _NEVER_READ.items():
        found = view.find(key, prefix)
        if found is not None:
            notes.append(f"{found.origin}: no MM2 version reads {key} (MM2's list is '{use}'); "
                         f"ignored, as MM2 ignores it; rename it to {use}")
    running = f"MM2 {version}" if version else "MM2 4.x (assumed: [mm2] version not set)"
    for key, use in _REMOVED_IN_4.items():
        found = view.find(key, prefix)
        if found is None:
            continue
        current = view.find(use, prefix)
        if not legacy_filters:
            notes.append(
                f"{found.origin}: {key} was removed in Kafka 4.0 and {running} ignores it "
                f"({use} = {'its MM2 default' if current is None else current.origin} applies); "
                f"rename it to {use}"
            )
        elif current is not None:
            notes.append(f"{found.origin}: ignored because {use} is set ({current.origin})")
        else:
            notes.append(f"{found.origin}: {key} is deprecated (removed in Kafka 4.0); "
                         f"rename it to {use}")
    return notes


def build_flow(
    view: MM2View,
    source: str,
    target: str,
    overrides: Mapping[str, str],
    *,
    legacy_filters: bool = False,
    version: str | None = None,
) -> Flow:
    """The flow ``source->target`` as MM2's connectors for it see their settings.

    ``legacy_filters``: the MM2 version (``version``) still honours ``*.blacklist`` (< 4.0).
    An invalid value becomes one of the flow's ``problems`` (and the setting keeps its MM2
    default), because MM2 refuses only that flow's connectors.
    """
    prefix = f"{source}->{target}"
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    problems: list[str] = []
    notes: list[str] = []

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ConfigError as exc:
            problems.append(str(exc))
            return None

    values["enabled"], origins["enabled"] = _enabled(view, prefix, problems, notes)
    for attr, key, default in _FLOW_SCALARS:
        read = view.boolean if isinstance(default, bool) else view.integer
        got = attempt(read, key, prefix, default)
        values[attr], origins[key] = got if got is not None else (default, "MM2 default")
    for attr, key, patterns, legacy in _FLOW_PATTERNS:
        got = attempt(view.patterns, key, prefix, patterns, legacy if legacy_filters else None,
                      not legacy_filters)
        values[attr], origins[key] = got if got is not None else (patterns, "MM2 default")
    notes += attempt(_legacy_notes, view, prefix, legacy_filters, version) or []
    loc = attempt(view.find, "offset-syncs.topic.location", prefix)
    location = "source" if loc is None else java_trim(loc.value)
    origins["offset-syncs.topic.location"] = "MM2 default" if loc is None else loc.origin
    if loc is not None and location not in ("source", "target"):
        # ConfigDef.ValidString.in("source", "target"): exact and case-sensitive.
        problems.append(f"{loc.where}: {loc.key} = {loc.value!r} must be 'source' or 'target' "
                        "(exactly, in lower case)")
        location = "source"
    policy = attempt(view.policy, prefix) or (DEFAULT_REPLICATION_POLICY, ".", True)
    got = attempt(view.string, "replication.policy.class", prefix, "")
    origins["replication.policy.class"] = got[1] if got else "MM2 default"
    aliases: dict[str, str | None] = {}
    for end in ("source", "target"):
        # connectorBaseConfig: a top-level or flow-level <end>.cluster.alias beats the real one.
        found = attempt(view.find, f"{end}.cluster.alias", prefix)
        aliases[end] = None if found is None else java_trim(found.value)
        origins[f"{end}.cluster.alias"] = "MM2 default" if found is None else found.origin
    return Flow(
        source=source,
        target=target,
        replication_policy_class=policy[0],
        replication_policy_separator=policy[1],
        internal_separator_enabled=policy[2],
        offset_syncs_topic_location="target" if location == "target" else "source",
        topic_overrides=dict(overrides),
        source_cluster_alias=aliases["source"],
        target_cluster_alias=aliases["target"],
        origins=origins,
        problems=tuple(dict.fromkeys(problems)),
        notes=tuple(dict.fromkeys(notes)),
        **values,
    )


def _enabled(view: MM2View, prefix: str, problems: list[str], notes: list[str]
             ) -> tuple[bool, str]:
    """Whether MM2 replicates this flow: a herder exists for it and its connectors are enabled.

    ``clusterPairs()`` makes a herder for the pair when ``Boolean.parseBoolean`` of
    ``<flow>.enabled`` (flow prefix only) is true, or heartbeats are on for it (flow-level
    ``emit.heartbeats.enabled``, else the top-level one, default true; also parseBoolean). The
    connectors then read ``enabled`` from their config: the flow-level key, else the top-level
    one, else false, as a ConfigDef BOOLEAN (trimmed). So a top-level ``enabled = true`` enables
    every pair, and ``<flow>.enabled = true `` (trailing blank) counts only while heartbeats are on.
    """
    try:
        flow_raw = view.get(f"{prefix}.enabled")
        beats = view.get(f"{prefix}.emit.heartbeats.enabled") or view.get(
            "emit.heartbeats.enabled"
        )
        configured = view.find("enabled", prefix)
        enabled = False if configured is None else config_boolean(configured)
    except ConfigError as exc:
        problems.append(str(exc))
        return False, "invalid"
    if configured is None:
        return False, "MM2 default"
    herder = parse_boolean(flow_raw.value if flow_raw else None) or (
        beats is None or parse_boolean(beats.value)
    )
    if enabled and not herder:
        beats_origin = beats.origin if beats is not None else "emit.heartbeats.enabled"
        if flow_raw is None:
            why = (f"{configured.origin} enables it, but MM2 creates a herder for a pair only "
                   f"when {prefix}.enabled is true or heartbeats are on, and {beats_origin} turns "
                   "them off")
        else:
            why = (f"{flow_raw.origin} = {flow_raw.value!r} is not 'true' to MM2's "
                   f"Boolean.parseBoolean (trailing blank?) and {beats_origin} turns heartbeats "
                   "off")
        notes.append(f"{why}, so MM2 creates no herder for {prefix}: it is not replicated")
        return False, f"{configured.origin} (no herder: {why})"
    return enabled, configured.origin
