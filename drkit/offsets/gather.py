"""Gather what a plan needs from the clusters, then call the pure planner.

Order matters for a dead primary: the standby is required (its checkpoints are the truth), the
source is optional. When the source answers, its groups are saved as an inventory in the state
dir (:mod:`drkit.offsets.inventory`), so a later failover with the source gone can still say
which groups have no checkpoint. The checkpoints come from a :class:`~drkit.mm2.client.MirrorTopics`
the caller may share (a runbook run shares one between preflight and translate: one scan).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from drkit.config import Flow, Settings
from drkit.config.drill import drill_settings
from drkit.errors import ClusterError
from drkit.kafka.admin import KafkaAdmin
from drkit.kafka.groups import SourceGroup, TargetGroup
from drkit.mm2.client import MirrorTopics
from drkit.mm2.model import OffsetSync, TopicPartition
from drkit.mm2.policy import ReplicationPolicy
from drkit.mm2.reader import CheckpointIndex, Progress
from drkit.mm2.versions import behaviour
from drkit.offsets.checkpoint_planner import build_plan
from drkit.offsets.inputs import PlanInputs, PlanOptions
from drkit.offsets.inventory import load_inventory, save_inventory
from drkit.offsets.plan import OffsetPlan
from drkit.offsets.readiness import (
    Readiness,
    ReadinessFacts,
    ReadinessLimits,
    judge,
    newest_checkpoint,
)

SOURCE_PROBE_TIMEOUT_S = 5.0


class FlowNaming:
    """The planner's view of one flow (:class:`~drkit.offsets.inputs.FlowView`): MM2's naming
    policy and filters."""

    def __init__(self, flow: Flow, policy: ReplicationPolicy) -> None:
        self.flow = flow
        self.policy = policy

    def to_target_topic(self, source_topic: str) -> str:
        return self.policy.format_remote_topic(self.flow.source, source_topic)

    def group_exclusion_reason(self, group: str) -> str | None:
        return self.flow.group_exclusion_reason(group)

    def topic_included(self, source_topic: str) -> bool:
        return self.flow.topic_included(source_topic)


def read_source_inventory(source: KafkaAdmin) -> dict[str, SourceGroup]:
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
                   cluster_timeout_s: float = 15.0, flow: Flow | None = None,
                   mirror: MirrorTopics | None = None) -> PlanData:
    """Read checkpoints, group states, log ranges (standby) and inventory, syncs (source).

    ``source_down`` (the error seen moments ago, e.g. by preflight) skips probing a source
    that is known to be dead: each probe costs its full timeout. ``flow`` and ``mirror`` are the
    caller's, resolved once per run or command; without them they are made here.
    """
    note = say or (lambda _m: None)
    flow = flow if flow is not None else settings.flow(source, target)
    policy = flow.policy()
    naming = FlowNaming(flow, policy)
    mirror = mirror if mirror is not None else MirrorTopics.for_flow(settings, flow)
    tgt = KafkaAdmin.connect(settings, target, timeout_s=cluster_timeout_s)
    tgt.describe()  # one clear error naming the standby when it is down

    note(f"reading {mirror.checkpoints_topic} on {target}")
    # The source (possibly dead, costing a probe) is asked while the standby is read.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        inventory = pool.submit(_source_inventory, settings, source, options.now_ms, note,
                                source_down)
        try:
            index = mirror.checkpoints(timeout_s=timeout_s, progress=progress,
                                       strict=options.strict)
        except ClusterError as exc:
            disabled = flow.checkpoints_disabled_reason()
            if disabled is None:
                raise
            raise ClusterError(f"{exc}; {disabled}") from exc
        source_groups, inventory_age, src_err = inventory.result()
    syncs, syncs_note = _offset_syncs(settings, flow, policy, timeout_s, src_err is None,
                                      strict=options.strict)

    # A group whose only record in force is malformed is still planned (untranslatable).
    groups = set(index.by_group) | set(source_groups or {}) | set(index.bad_groups)
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


def without_shadow_groups(data: PlanData, prefix: str) -> PlanData:
    """``data`` without the drill's shadow groups (``[drill] group_prefix``): a drill's
    rehearsal groups are never failed over, failed back or counted as missing (issue 10)."""
    def keep(name: str) -> bool:
        return not name.startswith(prefix)

    index = dataclasses.replace(
        data.index, by_group={g: c for g, c in data.index.by_group.items() if keep(g)})
    return dataclasses.replace(
        data, index=index,
        target_groups={g: t for g, t in data.target_groups.items() if keep(g)},
        source_groups=None if data.source_groups is None else {
            g: s for g, s in data.source_groups.items() if keep(g)})


def plan_from(settings: Settings, source: str, target: str, options: PlanOptions,
              data: PlanData) -> tuple[OffsetPlan, PlanInputs]:
    data = without_shadow_groups(data, drill_settings(settings).group_prefix)
    plan = build_plan(source, target, data.index.by_group, data.target_groups, data.log_ranges,
                      data.naming, options, source_groups=data.source_groups,
                      offset_syncs=data.offset_syncs, inventory_age_s=data.inventory_age_s,
                      bad_records=data.index.bad_records)
    inputs = PlanInputs(data.index.topic, data.index.records_read, round(data.index.seconds, 3),
                        data.source_error is None, data.source_error, data.inventory_age_s,
                        data.offset_syncs_note, behaviour(settings.mm2.version),
                        tuple(config_notes(settings, data.naming.flow)))
    return plan, inputs


def config_notes(settings: Settings, flow: Flow) -> list[str]:
    """What the configuration says that matters to a plan of ``flow``: MM2 writes no
    checkpoints for it (naming the setting and its line), then :meth:`Settings.notes_for`."""
    disabled = flow.checkpoints_disabled_reason()
    notes = [f"{disabled}; its checkpoints (if any) are stale"] if disabled else []
    return notes + settings.notes_for(flows=[(flow.source, flow.target)])


def gather_plan(settings: Settings, source: str, target: str, options: PlanOptions, *,
                timeout_s: float = 60.0, progress: Progress | None = None,
                say: Callable[[str], None] | None = None, source_down: str | None = None,
                flow: Flow | None = None, mirror: MirrorTopics | None = None
                ) -> tuple[OffsetPlan, PlanInputs]:
    """Read everything from the clusters (standby required, source optional) and plan."""
    data = read_plan_data(settings, source, target, options, timeout_s=timeout_s,
                          progress=progress, say=say, source_down=source_down, flow=flow,
                          mirror=mirror)
    return plan_from(settings, source, target, options, data)


def judge_readiness(data: PlanData, mirror: MirrorTopics, now_ms: int, limits: ReadinessLimits,
                    *, timeout_s: float = 30.0, strict: bool = False) -> Readiness:
    """The failover readiness of what ``data`` read (the one rule, :mod:`drkit.offsets.readiness`,
    as the preflight step judges it): the checkpoints already scanned, the source's reachability
    as probed for the inventory, and the newest heartbeat in ``<source>.heartbeats`` on the
    standby (when replication stopped, if the source is down). ``drkit plan`` plans with
    ``reference_ms`` as its "now", as the failover's translate step does."""
    hb_topic = mirror.remote_heartbeats_topic
    try:
        beats = mirror.heartbeats(hb_topic, timeout_s=timeout_s, strict=strict)
        hb_ms = max((h.timestamp_ms for h in beats.values()), default=None)
    except ClusterError:  # as preflight: no heartbeat seen (e.g. the topic does not exist)
        hb_ms = None
    groups, newest = newest_checkpoint(data.index.by_group)
    return judge(ReadinessFacts(data.naming.flow.source, data.naming.flow.target, now_ms,
                                data.source_error is None, mirror.checkpoints_topic, groups,
                                newest, hb_topic, hb_ms), limits)


def _source_inventory(settings: Settings, source: str, now_ms: int, note: Callable[[str], None],
                      known_down: str | None = None
                      ) -> tuple[dict[str, SourceGroup] | None, float | None, str | None]:
    try:
        if known_down:
            raise ClusterError(known_down)
        src = KafkaAdmin.connect(settings, source, timeout_s=SOURCE_PROBE_TIMEOUT_S)
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
                  source_up: bool, *, strict: bool = False
                  ) -> tuple[dict[TopicPartition, list[OffsetSync]] | None, str]:
    where, topic = policy.offset_syncs_location(flow.source, flow.target,
                                                flow.offset_syncs_topic_location)
    if where == flow.source and not source_up:
        return None, f"unavailable: {topic} lives on {where}, which is unreachable"
    try:
        on = MirrorTopics(where, settings.cluster(where).consumer_client_config(), policy,
                          flow.source)
        syncs = on.offset_syncs(topic, timeout_s=timeout_s, strict=strict)
    except ClusterError as exc:
        return None, f"unavailable: {exc}"
    bad = getattr(syncs, "bad_records", ())
    if bad:
        return syncs, (f"{topic} on {where}; {len(bad)} malformed record(s) skipped, first: "
                       f"{bad[0].describe()}")
    return syncs, f"{topic} on {where}"
