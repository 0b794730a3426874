"""Gather what a plan needs from the clusters, then call the pure planner.

Order matters for a dead primary: the standby is required (its checkpoints are the truth), the
source is optional. When the source answers, its groups are saved as an inventory in the state
dir, so a later failover with the source gone can still say which groups have no checkpoint.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drkit.cluster import Cluster
from drkit.config import Flow, Settings
from drkit.errors import ClusterError, DrkitError
from drkit.mm2.model import OffsetSync, TopicPartition
from drkit.mm2.policy import ReplicationPolicy
from drkit.mm2.reader import CheckpointIndex, Progress, read_checkpoints, read_offset_syncs
from drkit.mm2.versions import MM2Behaviour, behaviour
from drkit.translate import (
    OffsetPlan,
    PlanOptions,
    SafetyThresholds,
    SourceGroup,
    TargetGroup,
    build_plan,
)

SOURCE_PROBE_TIMEOUT_S = 5.0


class FlowNaming:
    """The planner's view of one flow: MM2's naming policy and filters."""

    def __init__(self, flow: Flow, policy: ReplicationPolicy) -> None:
        self.flow = flow
        self.policy = policy

    def to_target_topic(self, source_topic: str) -> str:
        return self.policy.format_remote_topic(self.flow.source, source_topic)

    def group_exclusion_reason(self, group: str) -> str | None:
        return self.flow.group_exclusion_reason(group)

    def topic_included(self, source_topic: str) -> bool:
        return self.flow.topic_included(source_topic)


@dataclass(frozen=True)
class PlanInputs:
    """Facts about how the plan was made, shown next to it and stored in the run journal."""

    checkpoints_topic: str
    checkpoint_records: int
    checkpoint_scan_s: float
    source_reachable: bool
    source_error: str | None
    inventory_age_s: float | None
    offset_syncs: str  # where the syncs came from, or why not
    mm2: MM2Behaviour = field(default_factory=lambda: behaviour(None))

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "mm2": self.mm2.to_dict()}


def inventory_path(settings: Settings, source: str) -> Path:
    return settings.state_dir / "inventory" / f"{source}.json"


def save_inventory(settings: Settings, source: str, groups: Mapping[str, SourceGroup],
                   now_ms: int) -> None:
    """Atomically write the source's groups and commits (no secrets: names and numbers only)."""
    path = inventory_path(settings, source)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"source": source, "captured_ms": now_ms,
            "groups": {g: {f"{tp.topic}\t{tp.partition}": off for tp, off in sg.committed.items()}
                       for g, sg in groups.items()}}
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_inventory(settings: Settings, source: str, now_ms: int
                   ) -> tuple[dict[str, SourceGroup], float] | None:
    path = inventory_path(settings, source)
    try:
        data = json.loads(path.read_text())
        groups = {}
        for g, offs in data["groups"].items():
            committed = {}
            for key, off in offs.items():
                topic, part = key.rsplit("\t", 1)
                committed[TopicPartition(topic, int(part))] = int(off)
            groups[g] = SourceGroup(g, committed)
        return groups, max(0.0, (now_ms - int(data["captured_ms"])) / 1000)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DrkitError(f"{path}: damaged group inventory ({exc}); delete it, it is rebuilt "
                         "the next time the source cluster answers") from exc


def read_source_inventory(source: Cluster) -> dict[str, SourceGroup]:
    states = source.group_states()
    committed = source.committed(states)
    return {g: SourceGroup(g, committed.get(g, {})) for g in states}


@dataclass
class PlanData:
    """Everything read from the clusters for one flow; the plan is built from it (pure)."""

    naming: FlowNaming
    index: CheckpointIndex
    target_groups: dict[str, TargetGroup]
    log_ranges: dict[TopicPartition, tuple[int, int]]
    source_groups: dict[str, SourceGroup] | None
    inventory_age_s: float | None
    source_error: str | None
    offset_syncs: dict[TopicPartition, list[OffsetSync]] | None
    offset_syncs_note: str
    target_topics: dict[str, int]


def read_plan_data(settings: Settings, source: str, target: str, options: PlanOptions, *,
                   timeout_s: float = 60.0, progress: Progress | None = None,
                   say: Callable[[str], None] | None = None, source_down: str | None = None,
                   cluster_timeout_s: float = 15.0) -> PlanData:
    """Read checkpoints, group states, log ranges (standby) and inventory, syncs (source).

    ``source_down`` (the error seen moments ago, e.g. by preflight) skips probing a source
    that is known to be dead: each probe costs its full timeout.
    """
    note = say or (lambda _m: None)
    flow = settings.flow(source, target)
    policy = flow.policy()
    naming = FlowNaming(flow, policy)
    tgt = Cluster(target, settings.cluster(target).usable_client_config(),
                  timeout_s=cluster_timeout_s)
    tgt.describe()  # one clear error naming the standby when it is down

    cp_topic = policy.checkpoints_topic(source)
    note(f"reading {cp_topic} on {target}")
    # The source (possibly dead, costing a probe) is asked while the standby is read.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        inventory = pool.submit(_source_inventory, settings, source, options.now_ms, note,
                                source_down)
        index: CheckpointIndex = read_checkpoints(tgt.config, cp_topic, target,
                                                  timeout_s=timeout_s, progress=progress)
        source_groups, inventory_age, src_err = inventory.result()
    syncs, syncs_note = _offset_syncs(settings, flow, policy, timeout_s, src_err is None)

    groups = set(index.by_group) | set(source_groups or {})
    note(f"reading {len(groups)} groups' state and commits on {target}")
    target_groups = tgt.target_groups(groups)
    topics = tgt.topics()
    relevant = {tp.topic for parts in index.by_group.values() for tp in parts}
    for sg in (source_groups or {}).values():
        relevant.update(naming.to_target_topic(tp.topic) for tp in sg.committed)
    for tg in target_groups.values():
        relevant.update(tp.topic for tp in tg.committed)
    for tp in syncs or {}:
        relevant.add(naming.to_target_topic(tp.topic))
    wanted = [TopicPartition(t, p) for t in sorted(relevant) if t in topics
              for p in range(topics[t])]
    return PlanData(naming, index, target_groups, tgt.log_ranges(wanted), source_groups,
                    inventory_age, src_err, syncs, syncs_note, topics)


def plan_from(settings: Settings, source: str, target: str, options: PlanOptions,
              data: PlanData) -> tuple[OffsetPlan, PlanInputs]:
    plan = build_plan(source, target, data.index.by_group, data.target_groups, data.log_ranges,
                      data.naming, options, source_groups=data.source_groups,
                      offset_syncs=data.offset_syncs, inventory_age_s=data.inventory_age_s)
    inputs = PlanInputs(data.index.topic, data.index.records_read, round(data.index.seconds, 3),
                        data.source_error is None, data.source_error, data.inventory_age_s,
                        data.offset_syncs_note, behaviour(settings.mm2.version))
    return plan, inputs


def gather_plan(settings: Settings, source: str, target: str, options: PlanOptions, *,
                timeout_s: float = 60.0, progress: Progress | None = None,
                say: Callable[[str], None] | None = None,
                source_down: str | None = None) -> tuple[OffsetPlan, PlanInputs]:
    """Read everything from the clusters (standby required, source optional) and plan."""
    data = read_plan_data(settings, source, target, options, timeout_s=timeout_s,
                          progress=progress, say=say, source_down=source_down)
    return plan_from(settings, source, target, options, data)


def _source_inventory(settings: Settings, source: str, now_ms: int, note: Callable[[str], None],
                      known_down: str | None = None
                      ) -> tuple[dict[str, SourceGroup] | None, float | None, str | None]:
    try:
        if known_down:
            raise ClusterError(known_down)
        src = Cluster(source, settings.cluster(source).usable_client_config(),
                      timeout_s=SOURCE_PROBE_TIMEOUT_S)
        src.describe()
        groups = read_source_inventory(src)
    except ClusterError as exc:
        note(f"source {source} unreachable; using the saved group inventory if any")
        cached = load_inventory(settings, source, now_ms)
        if cached is None:
            return None, None, str(exc)
        return cached[0], cached[1], str(exc)
    save_inventory(settings, source, groups, now_ms)
    return groups, 0.0, None


def _offset_syncs(settings: Settings, flow: Flow, policy: ReplicationPolicy, timeout_s: float,
                  source_up: bool) -> tuple[dict[TopicPartition, list[OffsetSync]] | None, str]:
    where, topic = policy.offset_syncs_location(flow.source, flow.target,
                                                flow.offset_syncs_topic_location)
    if where == flow.source and not source_up:
        return None, f"unavailable: {topic} lives on {where}, which is unreachable"
    try:
        cfg = settings.cluster(where).usable_client_config()
        syncs = read_offset_syncs(cfg, topic, where, timeout_s=timeout_s)
    except ClusterError as exc:
        return None, f"unavailable: {exc}"
    return syncs, f"{topic} on {where}"


def now_ms() -> int:
    return int(time.time() * 1000)


def options_from_args(args: Mapping[str, Any]) -> tuple[PlanOptions, SafetyThresholds]:
    """Plan options and safety thresholds from CLI options or a run journal's args."""
    options = PlanOptions(group_regex=args.get("group_regex"), topic_regex=args.get("topic_regex"),
                          allow_rewind=bool(args.get("allow_rewind")),
                          untranslated=args.get("untranslated", "skip"), now_ms=now_ms())
    thresholds = SafetyThresholds(
        max_clamped_partitions=int(args.get("max_clamped", 0)),
        max_untranslated_fraction=args.get("max_untranslated"),
        max_checkpoint_age_s=args.get("max_checkpoint_age"),
        min_groups=int(args.get("min_groups", 0)))
    return options, thresholds
