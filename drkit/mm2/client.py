"""A small read API over MM2's internal topics on one cluster, modelled on Kafka's MirrorClient.

One object per (cluster, replication flow) lists the remote topics and reads heartbeats,
checkpoints and offset-syncs. The checkpoints scan is the longest read of a failover (a
1,000,000-record topic at scale), so it is cached on the object: every step of one run that
asks for the checkpoints (preflight's evidence, the translate step's plan) sees the same single
scan, and preflight's numbers describe exactly the checkpoints the plan was built from. A resumed
run makes a new object, so it reads the topic afresh (MM2 may have written since).

The decoding and scanning rules are :mod:`drkit.mm2.reader`'s; this module only wraps them
(it calls them through the module, so a test can count the scans).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drkit.config import Flow, Settings
from drkit.kafka.admin import KafkaAdmin
from drkit.mm2 import reader
from drkit.mm2.model import Heartbeat, OffsetSync, TopicPartition
from drkit.mm2.policy import ReplicationPolicy
from drkit.mm2.reader import CheckpointIndex, Progress


@dataclass
class MirrorTopics:
    """MM2's internal topics on ``cluster`` for the flow ``source`` → ``cluster``.

    ``config`` is the librdkafka client config of ``cluster``; ``policy`` the flow's naming.
    """

    cluster: str
    config: Mapping[str, str]
    policy: ReplicationPolicy
    source: str
    _checkpoints: dict[tuple[str, bool], CheckpointIndex] = field(default_factory=dict,
                                                                  repr=False)

    @classmethod
    def for_flow(cls, settings: Settings, flow: Flow) -> MirrorTopics:
        """The standby side of ``flow``: its target cluster, where MM2 writes checkpoints."""
        return cls(flow.target, settings.cluster(flow.target).consumer_client_config(),
                   flow.policy(), flow.source)

    @property
    def checkpoints_topic(self) -> str:
        return self.policy.checkpoints_topic(self.source)

    @property
    def remote_heartbeats_topic(self) -> str:
        """The source's heartbeats as mirrored here: end-to-end replication health (RPO)."""
        return self.policy.remote_heartbeats_topic(self.source)

    @property
    def heartbeats_topic(self) -> str:
        """This cluster's own heartbeats topic, written by every MM2 flow into it."""
        return self.policy.heartbeats_topic()

    def checkpoints(self, *, timeout_s: float = 60.0, progress: Progress | None = None,
                    strict: bool = False) -> CheckpointIndex:
        """Every group's last checkpoint from one complete scan, read once per object.

        ``strict``: a malformed record raises CodecError instead of being skipped and listed in
        ``bad_records`` (the two reads are cached apart)."""
        topic = self.checkpoints_topic
        cached = self._checkpoints.get((topic, strict))
        if cached is None:
            cached = reader.read_checkpoints(self.config, topic, self.cluster,
                                             timeout_s=timeout_s, progress=progress,
                                             strict=strict)
            self._checkpoints[(topic, strict)] = cached
        return cached

    def heartbeats(self, topic: str | None = None, *, timeout_s: float = 30.0,
                   strict: bool = False) -> dict[tuple[str, str], Heartbeat]:
        """Newest heartbeat per (source, target) pair in ``topic`` (default: the remote one)."""
        return reader.read_heartbeats(self.config, topic or self.remote_heartbeats_topic,
                                      self.cluster, timeout_s=timeout_s, strict=strict)

    def offset_syncs(self, topic: str, *, timeout_s: float = 60.0, strict: bool = False
                     ) -> dict[TopicPartition, list[OffsetSync]]:
        """Every retained offset-sync in ``topic`` on this cluster, per source partition."""
        return reader.read_offset_syncs(self.config, topic, self.cluster, timeout_s=timeout_s,
                                        strict=strict)

    def remote_topics(self, admin: KafkaAdmin) -> dict[str, int]:
        """Topics on this cluster replicated from ``source`` (name → partition count)."""
        return {t: n for t, n in admin.topics().items()
                if not self.policy.is_internal_topic(t)
                and self.policy.topic_source(t, (self.source, self.cluster)) == self.source}
