"""Topic names as MM2's replication policies derive them (mm2-reference §2).

drkit cannot run MM2's Java policy classes, so it re-derives the names from facts: the remote-topic
format, how a remote name is parsed back, and the names of the internal topics (checkpoints,
offset-syncs, heartbeats). Everything here is pure string work.

Two traps shape the API:
- A local topic ``my.topic`` parses as remote with source ``my``. Every parsing method therefore
  takes ``known_aliases``; when given, only those aliases count as sources.
- KIP-690 lets a custom ``replication.policy.class`` rename the internal topics, and no config key
  records the names. drkit accepts them as explicit overrides and, for a class it does not know,
  refuses to guess any internal name that was not given.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from drkit.errors import ConfigError

__all__ = [
    "DEFAULT_POLICY_CLASS",
    "DEFAULT_SEPARATOR",
    "IDENTITY_POLICY_CLASS",
    "DefaultReplicationPolicy",
    "IdentityReplicationPolicy",
    "ReplicationPolicy",
    "TopicNameOverrides",
    "build_policy",
]

DEFAULT_POLICY_CLASS: Final = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
IDENTITY_POLICY_CLASS: Final = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
DEFAULT_SEPARATOR: Final = "."

HEARTBEATS: Final = "heartbeats"
_CHECKPOINTS: Final = "checkpoints"
_INTERNAL: Final = "internal"
_OFFSET_SYNCS_PREFIX: Final = "mm2-offset-syncs"
_LOCATIONS: Final = ("source", "target")


def _known(aliases: Iterable[str] | None) -> frozenset[str] | None:
    """Normalise ``known_aliases``; a bare ``str`` is almost surely a bug (it iterates chars)."""
    if aliases is None:
        return None
    if isinstance(aliases, str):
        raise TypeError("known_aliases must be a collection of aliases, not a single str")
    return frozenset(aliases)


def _require_alias(alias: str | None, what: str) -> None:
    # MM2 accepts an empty alias (a top-level "source.cluster.alias =" keeps topic names).
    if alias is None:
        raise ConfigError(f"{what}: cluster alias must not be missing")


@dataclass(frozen=True)
class TopicNameOverrides:
    """Internal topic names set explicitly, because KIP-690 custom policies have no config key.

    ``checkpoints`` and ``offset_syncs`` map a cluster alias (the argument of
    ``checkpoints_topic``/``offset_syncs_topic``) to a topic name.
    """

    heartbeats: str | None = None
    checkpoints: Mapping[str, str] = field(default_factory=dict)
    offset_syncs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.heartbeats is not None and not self.heartbeats:
            raise ConfigError("topic-name override 'heartbeats': the topic name must not be empty")
        for kind, names in (("checkpoints", self.checkpoints), ("offset-syncs", self.offset_syncs)):
            for alias, name in names.items():
                if not alias or not name:
                    raise ConfigError(
                        f"topic-name override {kind}.{alias} = {name!r}: alias and name needed"
                    )

    def __bool__(self) -> bool:
        return bool(self.heartbeats or self.checkpoints or self.offset_syncs)

    @classmethod
    def parse(cls, overrides: Mapping[str, str] | None) -> TopicNameOverrides:
        """Read keys ``heartbeats``, ``checkpoints.<alias>``, ``offset-syncs.<alias>``.

        Any other key is a ConfigError, so a typo cannot silently fall back to a default name.
        """
        heartbeats: str | None = None
        checkpoints: dict[str, str] = {}
        offset_syncs: dict[str, str] = {}
        for key, value in (overrides or {}).items():
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"topic-name override {key!r}: the topic name must not be empty")
            name = value.strip()
            kind, _, alias = key.strip().partition(".")
            if kind == HEARTBEATS and not alias:
                heartbeats = name
            elif kind == _CHECKPOINTS and alias:
                checkpoints[alias] = name
            elif kind == "offset-syncs" and alias:
                offset_syncs[alias] = name
            else:
                raise ConfigError(
                    f"topic-name override {key!r}: expected 'heartbeats', 'checkpoints.<alias>' "
                    "or 'offset-syncs.<alias>'"
                )
        return cls(heartbeats, checkpoints, offset_syncs)


class ReplicationPolicy(ABC):
    """What drkit needs from an MM2 ``ReplicationPolicy``: remote names and internal names.

    Subclasses supply the raw parsing (``_source_of``/``_upstream_of``); this base adds the
    known-alias filter, ``original_topic`` and the classification helpers on top.
    """

    class_name: str = ""
    """The Java class this policy stands for, for reports."""

    notes: tuple[str, ...] = ()
    """Caveats to show the operator (e.g. assumptions made for a custom policy class)."""

    # -- remote topics -----------------------------------------------------------------------

    @abstractmethod
    def format_remote_topic(self, source_alias: str, topic: str) -> str:
        """Name on the target of ``topic`` replicated from cluster ``source_alias``."""

    @abstractmethod
    def _source_of(self, topic: str) -> str | None:
        """The policy's own parse of the source alias, with no known-alias filter."""

    @abstractmethod
    def _upstream_of(self, topic: str) -> str | None:
        """The policy's own parse of the upstream name, with no known-alias filter."""

    def topic_source(self, topic: str, known_aliases: Iterable[str] | None = None) -> str | None:
        """Alias of the cluster ``topic`` was replicated from, or None if it looks local.

        With ``known_aliases`` a parsed source that is not a known alias means "local" (the
        ``my.topic`` pitfall).
        """
        source = self._source_of(topic)
        known = _known(known_aliases)
        if source is not None and known is not None and source not in known:
            return None
        return source

    def upstream_topic(self, topic: str, known_aliases: Iterable[str] | None = None) -> str | None:
        """Name of ``topic`` one hop upstream, or None if it is not a remote topic."""
        upstream = self._upstream_of(topic)
        known = _known(known_aliases)
        if (
            upstream is not None
            and upstream != topic
            and known is not None
            and self._source_of(topic) not in known
        ):
            return None
        return upstream

    def original_topic(self, topic: str, known_aliases: Iterable[str] | None = None) -> str:
        """Name of ``topic`` on the cluster it was first produced to, across all hops."""
        known = _known(known_aliases)
        current = topic
        while True:
            upstream = self.upstream_topic(current, known)
            if upstream is None or upstream == current:
                return current
            current = upstream

    def remote_heartbeats_topic(self, source_alias: str) -> str:
        """Name on the target of the source's heartbeats topic (e.g. ``primary.heartbeats``)."""
        return self.format_remote_topic(source_alias, self.heartbeats_topic())

    # -- internal topics ---------------------------------------------------------------------

    @abstractmethod
    def heartbeats_topic(self) -> str:
        """The local heartbeats topic, written by the herder whose target is this cluster."""

    @abstractmethod
    def checkpoints_topic(self, cluster_alias: str) -> str:
        """Checkpoints for groups of source ``cluster_alias``; the topic lives on the target."""

    @abstractmethod
    def offset_syncs_topic(self, cluster_alias: str) -> str:
        """Offset-syncs topic named after ``cluster_alias`` (the *other* cluster of the flow)."""

    def offset_syncs_location(
        self, source: str, target: str, location: str = "source"
    ) -> tuple[str, str]:
        """(alias of the cluster holding the flow's offset-syncs topic, topic name).

        ``location`` is MM2's ``offset-syncs.topic.location``: with ``source`` (the default) the
        topic is on the source and named after the target; with ``target`` (KIP-716) it is on
        the target and named after the source.
        """
        where = location.strip().lower()
        if where == "source":
            return source, self.offset_syncs_topic(target)
        if where == "target":
            return target, self.offset_syncs_topic(source)
        raise ConfigError(
            f"offset-syncs.topic.location: {location!r} is not one of {', '.join(_LOCATIONS)}"
        )

    # -- classification ----------------------------------------------------------------------

    def is_heartbeats_topic(self, topic: str) -> bool:
        """True for ``heartbeats`` and its replicas (``primary.heartbeats``, ...)."""
        return self.original_topic(topic) == self.heartbeats_topic()

    @abstractmethod
    def is_checkpoints_topic(self, topic: str) -> bool:
        """True if ``topic`` is some cluster's checkpoints topic under this policy."""

    @abstractmethod
    def is_offset_syncs_topic(self, topic: str) -> bool:
        """True if ``topic`` is some flow's offset-syncs topic under this policy."""

    @abstractmethod
    def is_internal_topic(self, topic: str) -> bool:
        """True for topics drkit must never treat as user data (MM2, Connect, Kafka internals)."""


class DefaultReplicationPolicy(ReplicationPolicy):
    """MM2's DefaultReplicationPolicy: remote topics are ``<source><separator><topic>``.

    ``internal_separator_enabled`` is KIP-949's ``replication.policy.internal.topic.separator
    .enabled`` (3.6+, default true; 3.1-3.5 behave as true). ``legacy_dotted_internal`` models
    MM2 ≤ 3.0, which always used dots for internal names. Heartbeats are always ``heartbeats``.

    ``overrides`` sets internal names explicitly (KIP-690). With ``require_overrides`` every
    internal name must come from an override: guessing a custom policy's names would read the
    wrong topic.
    """

    class_name = DEFAULT_POLICY_CLASS

    def __init__(
        self,
        separator: str = DEFAULT_SEPARATOR,
        internal_separator_enabled: bool = True,
        legacy_dotted_internal: bool = False,
        *,
        overrides: TopicNameOverrides | None = None,
        require_overrides: bool = False,
    ) -> None:
        if separator is None:
            raise ConfigError("replication.policy.separator must not be missing")
        # An empty separator is valid to MM2 (the pre-3.0 "keep topic names" trick).
        self.separator = separator
        self.internal_separator_enabled = internal_separator_enabled
        self.legacy_dotted_internal = legacy_dotted_internal
        self.overrides = overrides or TopicNameOverrides()
        self.require_overrides = require_overrides

    @property
    def internal_separator(self) -> str:
        """Separator inside internal names: S since 3.1 unless KIP-949's flag is false."""
        if self.legacy_dotted_internal or not self.internal_separator_enabled:
            return "."
        return self.separator

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(separator={self.separator!r}, "
            f"internal_separator={self.internal_separator!r}, class_name={self.class_name!r})"
        )

    # -- remote topics -----------------------------------------------------------------------

    def format_remote_topic(self, source_alias: str, topic: str) -> str:
        _require_alias(source_alias, "remote topic name")
        return f"{source_alias}{self.separator}{topic}"

    def _split(self, topic: str) -> list[str]:
        """Java ``String.split`` on the quoted separator: leading empties kept, trailing dropped."""
        # Java splits on an empty pattern between every char (no leading empty part).
        parts = topic.split(self.separator) if self.separator else list(topic) or [""]
        while parts and not parts[-1]:
            parts.pop()
        return parts

    def _source_of(self, topic: str) -> str | None:
        parts = self._split(topic)
        return parts[0] if len(parts) >= 2 else None

    def _upstream_of(self, topic: str) -> str | None:
        source = self._source_of(topic)
        if source is None:
            return None
        return topic[len(source) + len(self.separator) :]

    # -- internal topics ---------------------------------------------------------------------

    def _missing(self, key: str) -> ConfigError:
        return ConfigError(
            f"replication.policy.class {self.class_name}: no name given for the {key} topic; "
            f"add the override '{key}' (drkit cannot derive a custom policy's internal names)"
        )

    def heartbeats_topic(self) -> str:
        if self.overrides.heartbeats is not None:
            return self.overrides.heartbeats
        if self.require_overrides:
            raise self._missing(HEARTBEATS)
        return HEARTBEATS

    def checkpoints_topic(self, cluster_alias: str) -> str:
        sep = self.internal_separator
        return self._internal(cluster_alias, "checkpoints", self.overrides.checkpoints,
                              f"{cluster_alias}{sep}{_CHECKPOINTS}{sep}{_INTERNAL}")

    def offset_syncs_topic(self, cluster_alias: str) -> str:
        sep = self.internal_separator
        return self._internal(cluster_alias, "offset-syncs", self.overrides.offset_syncs,
                              f"{_OFFSET_SYNCS_PREFIX}{sep}{cluster_alias}{sep}{_INTERNAL}")

    def _internal(self, alias: str, kind: str, overrides: Mapping[str, str], default: str
                  ) -> str:
        """An explicit override if given, else MM2's name (unless overrides are required)."""
        _require_alias(alias, f"{kind} topic")
        name = overrides.get(alias)
        if name is not None:
            return name
        if self.require_overrides:
            raise self._missing(f"{kind}.{alias}")
        return default

    # -- classification ----------------------------------------------------------------------

    def is_checkpoints_topic(self, topic: str) -> bool:
        if topic in self.overrides.checkpoints.values():
            return True
        sep = self.internal_separator
        suffix = f"{sep}{_CHECKPOINTS}{sep}{_INTERNAL}"
        return not self.require_overrides and len(topic) > len(suffix) and topic.endswith(suffix)

    def is_offset_syncs_topic(self, topic: str) -> bool:
        if topic in self.overrides.offset_syncs.values():
            return True
        sep = self.internal_separator
        prefix = f"{_OFFSET_SYNCS_PREFIX}{sep}"
        suffix = f"{sep}{_INTERNAL}"
        return (
            not self.require_overrides
            and len(topic) > len(prefix) + len(suffix)
            and topic.startswith(prefix)
            and topic.endswith(suffix)
        )

    def is_internal_topic(self, topic: str) -> bool:
        if self.is_checkpoints_topic(topic) or self.is_offset_syncs_topic(topic):
            return True
        # MM2's own Connect topics in dedicated mode: mm2-configs/offsets/status.<alias>.internal.
        if topic.startswith("mm2") and topic.endswith(f"{self.internal_separator}{_INTERNAL}"):
            return True
        # Kafka internals (__consumer_offsets, __transaction_state, ...) and Connect's defaults.
        return topic.startswith(("__", ".")) or topic.endswith(("-internal", ".internal"))


class IdentityReplicationPolicy(DefaultReplicationPolicy):
    """MM2's IdentityReplicationPolicy (3.0+): remote topics keep their names.

    Only topics ending in the heartbeats name are still prefixed (``primary.heartbeats``), so
    heartbeats stay traceable; their parsing is Default's. For every other topic the source is
    the configured ``source.cluster.alias`` and cannot be read from the name. Internal topic names
    are Default's.
    """

    class_name = IDENTITY_POLICY_CLASS

    def __init__(
        self,
        source_alias: str | None = None,
        separator: str = DEFAULT_SEPARATOR,
        internal_separator_enabled: bool = True,
        legacy_dotted_internal: bool = False,
        *,
        overrides: TopicNameOverrides | None = None,
        require_overrides: bool = False,
    ) -> None:
        super().__init__(
            separator,
            internal_separator_enabled,
            legacy_dotted_internal,
            overrides=overrides,
            require_overrides=require_overrides,
        )
        self.source_alias = source_alias or None

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, source_alias={self.source_alias!r})"

    def _looks_like_heartbeats(self, topic: str) -> bool:
        return topic.endswith(self.heartbeats_topic())

    def format_remote_topic(self, source_alias: str, topic: str) -> str:
        if self._looks_like_heartbeats(topic):
            return super().format_remote_topic(source_alias, topic)
        return topic

    def _source_of(self, topic: str) -> str | None:
        if self._looks_like_heartbeats(topic):
            return super()._source_of(topic)
        return self.source_alias

    def _upstream_of(self, topic: str) -> str | None:
        if self._looks_like_heartbeats(topic):
            return super()._upstream_of(topic)
        return topic


_JAVA_CLASS: Final = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")


def build_policy(
    class_name: str | None,
    separator: str = DEFAULT_SEPARATOR,
    internal_separator_enabled: bool = True,
    source_alias: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> ReplicationPolicy:
    """The policy for MM2's ``replication.policy.class`` and related settings.

    ``None`` means MM2's default. For a custom class drkit cannot know the names, so it needs
    explicit internal-topic overrides; remote names are then assumed to follow Default's format,
    which the returned policy's ``notes`` say.
    """
    names = TopicNameOverrides.parse(overrides)
    name = (class_name or "").strip() or DEFAULT_POLICY_CLASS
    if name == DEFAULT_POLICY_CLASS:
        return DefaultReplicationPolicy(separator, internal_separator_enabled, overrides=names)
    if name == IDENTITY_POLICY_CLASS:
        return IdentityReplicationPolicy(
            source_alias, separator, internal_separator_enabled, overrides=names
        )
    if not _JAVA_CLASS.fullmatch(name):
        raise ConfigError(f"replication.policy.class {name!r} is not a Java class name")
    for known in (DEFAULT_POLICY_CLASS, IDENTITY_POLICY_CLASS):
        if name == known.rsplit(".", 1)[1]:
            raise ConfigError(
                f"replication.policy.class {name!r} must be fully qualified: use {known}"
            )
    if not names:
        raise ConfigError(
            f"replication.policy.class {name} is a custom policy drkit cannot run; give the "
            "internal topic names it uses as overrides ('heartbeats', 'checkpoints.<alias>', "
            "'offset-syncs.<alias>'), or use DefaultReplicationPolicy/IdentityReplicationPolicy"
        )
    policy = DefaultReplicationPolicy(
        separator, internal_separator_enabled, overrides=names, require_overrides=True
    )
    policy.class_name = name
    policy.notes = (
        f"custom replication.policy.class {name}: internal topic names come only from the "
        f"overrides; remote topic names are assumed to be '<source>{separator}<topic>' as in "
        "DefaultReplicationPolicy",
    )
    return policy
