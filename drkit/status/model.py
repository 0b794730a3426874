"""The facts ``drkit status`` gathers, as plain values (collected by ``collect.py``).

Everything here is JSON-ready through ``to_dict``; ``evaluate.py`` turns facts plus thresholds
into checks with Nagios levels, and ``render.py`` prints them. Ages are seconds, offsets and
lags are record counts; None means "could not be measured" and comes with a reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LEVEL_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


@dataclass
class ClusterFacts:
    alias: str
    bootstrap: str
    reachable: bool
    error: str | None = None
    cluster_id: str | None = None
    controller_id: int | None = None
    brokers: int | None = None


@dataclass
class TopicLag:
    """Replication lag of one source topic, summed over its partitions."""

    topic: str  # source name
    mirror: str  # name on the target
    messages: int | None
    seconds: float | None  # age of the oldest record not yet mirrored (0 when caught up)


@dataclass
class GroupFacts:
    group: str
    checkpoint_age_s: float | None  # age of the group's newest checkpoint
    behind_messages: int | None  # Σ (mirrored log end − checkpoint downstream): work to redo
    idle: bool  # nothing to track: caught up, or not moved on the source since the checkpoint
    moved_since_checkpoint: bool | None  # source commit ahead of the checkpoint (None: unknown)
    ready: bool  # a failover now would commit every partition it consumes
    reason: str  # why not ready, or the plan's verdict
    expected_redeliveries: int | None
    standby_state: str | None
    members_on_standby: int
    partitions_checkpointed: int
    partitions_consumed: int | None  # on the source (None: source and inventory unknown)
    # MM2's group filter skips it by configuration (e.g. connect-*): listed, never an alarm,
    # or a sink connector's group would keep every status check at WARNING forever.
    excluded_by_mm2: bool = False


@dataclass
class FlowFacts:
    source: str
    target: str
    heartbeat_topic: str
    heartbeat_age_s: float | None
    heartbeat_error: str | None  # e.g. topic missing (MM2 run with --clusters <target>)
    lags: list[TopicLag] = field(default_factory=list)
    lag_error: str | None = None  # why lag could not be measured (source down, no syncs)
    groups: list[GroupFacts] = field(default_factory=list)
    groups_error: str | None = None
    #: drkit.offsets.readiness.Readiness.to_dict(): the one rule preflight and plan use too.
    readiness: dict[str, Any] | None = None


@dataclass
class DnsFacts:
    name: str
    type: str
    values: list[str]
    points_at: str | None
    error: str | None = None


@dataclass
class DrillFacts:
    """The drills of one source->target pair, from ``state_dir/drills/`` (``drkit drill``)."""

    source: str
    target: str
    last_run_id: str | None = None  # the newest drill, passed or not
    last_finished_at: str | None = None
    last_passed: bool | None = None
    last_success_run_id: str | None = None  # the newest passing drill
    last_success_at: str | None = None
    last_success_age_s: float | None = None
    max_age_days: float | None = None  # [drill] max_age_days; None: age never warns


@dataclass
class RunFacts:
    run_id: str
    kind: str
    status: str
    source: str | None
    target: str | None
    created_at: str | None


@dataclass
class StatusFacts:
    generated_at: str
    duration_s: float
    clusters: list[ClusterFacts]
    flows: list[FlowFacts]
    dns: list[DnsFacts] = field(default_factory=list)
    dns_error: str | None = None  # None also when no DNS is configured (dns_configured False)
    dns_configured: bool = False
    runs: list[RunFacts] = field(default_factory=list)
    #: What the configuration says about the flows checked (settings their MM2 version
    #: ignores, problems of flows and clusters not checked): shown, never a failed check.
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
    #: One per flow checked: its last drill and last passing drill (issue 10).
    drills: list[DrillFacts] = field(default_factory=list)


@dataclass(frozen=True)
class Thresholds:
    """Warn/crit limits; None switches a check off. Defaults suit MM2's default intervals."""

    heartbeat_age_warn: float = 60
    heartbeat_age_crit: float = 300
    checkpoint_age_warn: float = 300
    checkpoint_age_crit: float = 900
    lag_seconds_warn: float | None = 60
    lag_seconds_crit: float | None = 300
    lag_messages_warn: int | None = None
    lag_messages_crit: int | None = None
    redeliveries_warn: int | None = None


@dataclass(frozen=True)
class Check:
    """One finding: its Nagios level, what it is about, and a one-line message."""

    level: int
    subject: str  # e.g. "flow primary->backup", "group billing", "cluster primary"
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": LEVEL_NAMES[self.level], "subject": self.subject,
                "message": self.message}
