"""Plain values for the three record types MM2 writes (see mm2-reference §1).

Field names follow MM2's Java classes, in snake case. These are the decoded forms; the byte
layouts live in ``codec.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True, order=True)
class TopicPartition:
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


class Checkpoint(NamedTuple):
    """One consumer group's translated position, written by MM2 on the *target* cluster.

    ``topic`` is already the target-cluster name (e.g. ``primary.orders``); never rename it again.
    A NamedTuple, not a frozen dataclass: a failover decodes one per surviving checkpoint
    (tens of thousands) and a frozen dataclass costs twice as much to build.
    """

    group: str
    topic: str
    partition: int
    upstream_offset: int
    downstream_offset: int
    metadata: str

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


class StampedCheckpoint(NamedTuple):
    """A checkpoint with where and when it was written (record timestamp, ms since epoch)."""

    checkpoint: Checkpoint
    timestamp_ms: int
    log_offset: int


@dataclass(frozen=True, slots=True)
class OffsetSync:
    """An upstream→downstream offset pair; ``topic`` is the *source*-cluster name."""

    topic: str
    partition: int
    upstream_offset: int
    downstream_offset: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    source_alias: str
    target_alias: str
    timestamp_ms: int
