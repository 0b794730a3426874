"""A flow's replication policy named after ``source.cluster.alias``/``target.cluster.alias``.

MM2's connectors name topics after the aliases in their own config, and ``connectorBaseConfig``
lets a top-level (or flow-level) ``source.cluster.alias``/``target.cluster.alias`` beat the real
ones: the pre-3.0 "keep topic names" trick sets ``source.cluster.alias =`` (empty) with an empty
separator, so ``orders`` stays ``orders`` and the checkpoints topic is ``checkpointsinternal``.
:class:`AliasedPolicy` keeps drkit's callers simple: they pass the real aliases, it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drkit.mm2.policy import ReplicationPolicy


class AliasedPolicy(ReplicationPolicy):
    """``inner`` with alias arguments mapped through ``names`` (real alias -> MM2's alias)."""

    def __init__(self, inner: ReplicationPolicy, names: Mapping[str, str]) -> None:
        self.inner = inner
        self.names = dict(names)
        reverse: dict[str, list[str]] = {}
        for real, named in self.names.items():
            reverse.setdefault(named, []).append(real)
        self.reverse = {named: reals[0] for named, reals in reverse.items() if len(reals) == 1}
        self.class_name = inner.class_name
        self.notes = inner.notes

    def __getattr__(self, name: str) -> Any:  # separator, overrides, ... of the inner policy
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"AliasedPolicy({self.inner!r}, names={self.names!r})"

    def _name(self, alias: str) -> str:
        return self.names.get(alias, alias)

    def format_remote_topic(self, source_alias: str, topic: str) -> str:
        return self.inner.format_remote_topic(self._name(source_alias), topic)

    def _source_of(self, topic: str) -> str | None:
        source = self.inner._source_of(topic)
        return self.reverse.get(source, source) if source is not None else None

    def _upstream_of(self, topic: str) -> str | None:
        return self.inner._upstream_of(topic)

    def heartbeats_topic(self) -> str:
        return self.inner.heartbeats_topic()

    def checkpoints_topic(self, cluster_alias: str) -> str:
        return self.inner.checkpoints_topic(self._name(cluster_alias))

    def offset_syncs_topic(self, cluster_alias: str) -> str:
        return self.inner.offset_syncs_topic(self._name(cluster_alias))

    def is_checkpoints_topic(self, topic: str) -> bool:
        mine = {self.checkpoints_topic(real) for real in self.names}
        return topic in mine or self.inner.is_checkpoints_topic(topic)

    def is_offset_syncs_topic(self, topic: str) -> bool:
        mine = {self.offset_syncs_topic(real) for real in self.names}
        return topic in mine or self.inner.is_offset_syncs_topic(topic)

    def is_internal_topic(self, topic: str) -> bool:
        return (self.is_checkpoints_topic(topic) or self.is_offset_syncs_topic(topic)
                or self.inner.is_internal_topic(topic))
