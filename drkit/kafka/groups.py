"""Consumer-group facts as plain values, and the one rule for "is this group active?".

Pure (no Kafka client): the admin edge (:mod:`drkit.kafka.admin`) builds these values, the
planners (:mod:`drkit.offsets`), preflight, rollback and status read them. Keeping them here
means the Kafka layer never imports a planner just to return a group, and every caller decides
"active" the same way, whatever case the state name arrives in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drkit.mm2.model import TopicPartition

# Group states in which nobody consumes: the broker accepts offset commits only then.
IDLE_STATES = frozenset({"EMPTY", "DEAD"})


def group_is_active(state: str | None, member_count: int) -> bool:
    """Members, or any state but Empty/Dead (case-insensitive; an unknown state counts as active).

    The broker rejects a commit into such a group, or a consumer races it (mm2-reference §7.8),
    so drkit never writes one and never restores one on rollback.
    """
    return member_count > 0 or (state or "UNKNOWN").strip().upper() not in IDLE_STATES


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """A group as the standby reports it; groups absent on the standby are not in the mapping."""

    group: str
    state: str
    member_count: int
    committed: Mapping[TopicPartition, int] = field(default_factory=dict)

    @property
    def is_active(self) -> bool:
        """:func:`group_is_active` for this group."""
        return group_is_active(self.state, self.member_count)


@dataclass(frozen=True, slots=True)
class SourceGroup:
    """A group's commits on the source (source topic names), used only to explain gaps."""

    group: str
    committed: Mapping[TopicPartition, int] = field(default_factory=dict)
