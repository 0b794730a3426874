"""Gather the facts for ``drkit status``, every network call bounded by ``timeout_s``.

Built on the failover planner: the plan tells per group whether a failover now would commit
every partition it consumes and how many records it would see again, and reading it also
refreshes the saved source-group inventory a later failover with a dead source relies on.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from confluent_kafka import OFFSET_INVALID
from confluent_kafka import TopicPartition as KafkaTopicPartition

from drkit import clock
from drkit.config import Flow, Settings
from drkit.config.drill import drill_settings
from drkit.drill.history import last_passing, load_reports
from drkit.errors import ClusterError, ConfigError, DrkitError
from drkit.kafka import clients
from drkit.kafka.admin import KafkaAdmin
from drkit.mm2.client import MirrorTopics
from drkit.mm2.model import TopicPartition
from drkit.offsets.checkpoint_planner import (
    moved_since_checkpoint,
    source_positions,
    untranslated_partitions,
)
from drkit.offsets.gather import PlanData, plan_from, read_plan_data
from drkit.offsets.inputs import PlanOptions
from drkit.offsets.plan import GroupPlan
from drkit.offsets.readiness import ReadinessFacts, judge, newest_checkpoint
from drkit.runbook.liveness import liveness, shown_status
from drkit.runbook.state import DamagedRun, Journal
from drkit.runbook.steps.preflight import failover_limits
from drkit.status.model import (
    ClusterFacts,
    DnsFacts,
    DrillFacts,
    FlowFacts,
    GroupFacts,
    RunFacts,
    StatusFacts,
    TopicLag,
)


def collect(settings: Settings, flows: Iterable[Flow], *, timeout_s: float = 10.0,
            group_regex: str | None = None) -> StatusFacts:
    started = time.monotonic()
    flows = list(flows)
    aliases = sorted({a for f in flows for a in (f.source, f.target)})
    with concurrent.futures.ThreadPoolExecutor(max(1, len(aliases))) as pool:
        clusters = list(pool.map(lambda a: _cluster(settings, a, timeout_s), aliases))
    by_alias = {c.alias: c for c in clusters}
    flow_facts = [_flow(settings, f, by_alias, timeout_s, group_regex) for f in flows]
    facts = StatusFacts(datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                        0.0, clusters, flow_facts)
    facts.notes = settings.notes_for(flows=[(f.source, f.target) for f in flows])
    _dns(settings, facts)
    facts.runs = _runs(settings)
    facts.drills = _drills(settings, flow_facts)
    facts.duration_s = round(time.monotonic() - started, 3)
    return facts


def _cluster(settings: Settings, alias: str, timeout_s: float) -> ClusterFacts:
    cluster = settings.cluster(alias)
    try:
        info = KafkaAdmin.connect(settings, alias, timeout_s).describe()
    except ConfigError:
        raise  # e.g. a JKS truststore: a config problem (UNKNOWN), not an unreachable cluster
    except DrkitError as exc:
        return ClusterFacts(alias, cluster.bootstrap_servers, False, str(exc))
    return ClusterFacts(alias, cluster.bootstrap_servers, True, None, info.cluster_id,
                        info.controller_id, info.broker_count)


def _flow(settings: Settings, flow: Flow, clusters: dict[str, ClusterFacts], timeout_s: float,
          group_regex: str | None) -> FlowFacts:
    mirror = MirrorTopics.for_flow(settings, flow)
    hb_topic = mirror.remote_heartbeats_topic
    facts = FlowFacts(flow.source, flow.target, hb_topic, None, None)
    target, source = clusters[flow.target], clusters[flow.source]
    if not target.reachable:
        facts.heartbeat_error = facts.groups_error = f"{flow.target} is unreachable"
        facts.lag_error = f"{flow.target} is unreachable"
        return facts
    now_ms = clock.now_ms()  # DRKIT_NOW_MS (tests) moves it forward
    hb_newest: int | None = None
    try:
        beats = mirror.heartbeats(hb_topic, timeout_s=timeout_s)
        hb_newest = max((h.timestamp_ms for h in beats.values()), default=None)
        if hb_newest is None:
            facts.heartbeat_error = f"{hb_topic} on {flow.target} holds no heartbeat yet"
        else:
            facts.heartbeat_age_s = round(max(0.0, (now_ms - hb_newest) / 1000), 3)
    except ClusterError as exc:
        facts.heartbeat_error = (
            f"{hb_topic} does not exist on {flow.target}: MM2 may run with --clusters "
            f"{flow.target} (nothing emits heartbeats into {flow.source}) or heartbeats are off"
            if "does not exist" in str(exc) else str(exc))
    disabled = flow.checkpoints_disabled_reason()
    if disabled is not None:  # whatever checkpoints exist are stale: nothing to judge by
        facts.groups_error = f"{disabled}; a failover now would translate stale checkpoints"
        facts.lag_error = disabled
        return facts
    options = PlanOptions(group_regex=group_regex, now_ms=now_ms)
    try:
        data = read_plan_data(settings, flow.source, flow.target, options, timeout_s=timeout_s,
                              source_down=None if source.reachable else (source.error or "down"),
                              cluster_timeout_s=timeout_s, flow=flow, mirror=mirror)
        plan, _inputs = plan_from(settings, flow.source, flow.target, options, data)
    except DrkitError as exc:
        facts.groups_error = str(exc)
        facts.lag_error = str(exc)
        return facts
    facts.groups = [_group(g, data) for g in plan.groups]
    groups, newest = newest_checkpoint(data.index.by_group)
    facts.readiness = judge(ReadinessFacts(  # the same rule as preflight and plan
        flow.source, flow.target, now_ms, source.reachable, mirror.checkpoints_topic, groups,
        newest, hb_topic, hb_newest), failover_limits(settings)).to_dict()
    if not source.reachable:
        facts.lag_error = f"{flow.source} is unreachable"
    elif data.offset_syncs is None:
        facts.lag_error = f"offset-syncs {data.offset_syncs_note}"
    else:
        try:
            facts.lags = _lags(settings, flow, data, timeout_s)
        except DrkitError as exc:
            facts.lag_error = str(exc)
    return facts


def _group(g: GroupPlan, data: PlanData) -> GroupFacts:
    now_ms = clock.now_ms()
    cps = data.index.by_group.get(g.group, {})
    age = (max(0.0, (now_ms - max(sc.timestamp_ms for sc in cps.values())) / 1000)
           if cps else None)
    behind = 0
    for tp, sc in cps.items():
        end = data.log_ranges.get(tp, (0, sc.checkpoint.downstream_offset))[1]
        behind += max(0, end - sc.checkpoint.downstream_offset)
    moved: bool | None = None
    consumed: int | None = None
    if data.source_groups is not None and g.group in data.source_groups:
        positions = source_positions(data.naming, data.source_groups[g.group])
        consumed = len(positions)
        moved = any(moved_since_checkpoint(off, cps[tp])
                    for tp, (_stp, off) in positions.items() if tp in cps)
    missing = untranslated_partitions(g.partitions)
    ready = g.verdict in ("commit", "nothing-to-do") and not missing
    reason = g.reason if not ready or not missing else f"{len(missing)} partitions untranslated"
    broken = data.index.bad_for(g.group)
    if broken:  # a malformed checkpoint record in force: that position is unknown
        ready = False
        reason = (f"{len(broken)} malformed checkpoint record(s) in force, first: "
                  f"{broken[0].describe()} (key {broken[0].key_hex})")
    dups = [p.expected_duplicates for p in g.partitions if p.expected_duplicates is not None]
    return GroupFacts(
        group=g.group, checkpoint_age_s=None if age is None else round(age, 3),
        behind_messages=behind if cps else None,
        idle=bool(cps) and (behind == 0 or moved is False), moved_since_checkpoint=moved,
        ready=ready, reason=reason, expected_redeliveries=sum(dups) if dups else None,
        standby_state=g.target_state, members_on_standby=g.member_count,
        partitions_checkpointed=len(cps), partitions_consumed=consumed,
        excluded_by_mm2=not cps and data.naming.group_exclusion_reason(g.group) is not None)


def _lags(settings: Settings, flow: Flow, data: PlanData, timeout_s: float) -> list[TopicLag]:
    """Per source topic: records not yet mirrored, from the latest sync and both log ends."""
    assert data.offset_syncs is not None
    src = KafkaAdmin.connect(settings, flow.source, timeout_s)
    latest = {tp: syncs[-1] for tp, syncs in data.offset_syncs.items()
              if syncs and flow.topic_included(tp.topic)}
    src_ends = src.log_ranges(latest)
    behind: dict[TopicPartition, int] = {}
    for tp, sync in latest.items():
        mirror = TopicPartition(data.naming.to_target_topic(tp.topic), tp.partition)
        if tp not in src_ends or mirror not in data.log_ranges:
            continue
        mirrored = sync.upstream_offset + (data.log_ranges[mirror][1] - sync.downstream_offset)
        behind[tp] = max(0, src_ends[tp][1] - mirrored)
    ages = _oldest_unmirrored_age(settings.cluster(flow.source).consumer_client_config(),
                                  {tp: src_ends[tp][1] - n for tp, n in behind.items()
                                   if n > 0}, timeout_s)
    out: dict[str, TopicLag] = {}
    for tp, n in sorted(behind.items()):
        lag = out.setdefault(tp.topic, TopicLag(tp.topic, data.naming.to_target_topic(tp.topic),
                                                0, 0.0))
        lag.messages = (lag.messages or 0) + n
        if n > 0:
            age = ages.get(tp)
            lag.seconds = None if age is None or lag.seconds is None else max(lag.seconds, age)
    return list(out.values())


def _oldest_unmirrored_age(config: Mapping[str, str], first: dict[TopicPartition, int],
                           timeout_s: float) -> dict[TopicPartition, float]:
    """Age of the first record not yet mirrored, per lagging partition (one fetch each).
    ``config`` is the source's consumer config (MM2's consumer role settings)."""
    if not first:
        return {}
    cons = clients.consumer(config, **{"group.id": "drkit-status-lag",
                                       "enable.partition.eof": False})
    ages: dict[TopicPartition, float] = {}
    try:
        cons.assign([KafkaTopicPartition(tp.topic, tp.partition, off) for tp, off in
                     first.items() if off != OFFSET_INVALID])
        deadline = time.monotonic() + timeout_s
        while len(ages) < len(first) and time.monotonic() < deadline:
            msg = cons.poll(0.2)
            if msg is None or msg.error():
                continue
            tp = TopicPartition(msg.topic() or "", msg.partition() or 0)
            if tp in first and tp not in ages:
                ages[tp] = round(max(0.0, time.time() - msg.timestamp()[1] / 1000), 3)
                cons.pause([KafkaTopicPartition(tp.topic, tp.partition)])
    finally:
        cons.close()
    return ages


def _dns(settings: Settings, facts: StatusFacts) -> None:
    from drkit.dns.flip import records_now
    from drkit.dns.settings import dns_settings

    try:
        if dns_settings(settings) is None:
            return
        facts.dns_configured = True
        facts.dns = [DnsFacts(r["name"], r["type"], r["values"], r["points_at"])
                     for r in records_now(settings)]
    except DrkitError as exc:
        facts.dns_configured = True
        facts.dns_error = str(exc)


def _drills(settings: Settings, flows: list[FlowFacts]) -> list[DrillFacts]:
    """The last drill and last passing drill of every flow checked (damaged reports skipped:
    `drkit drill history` lists them)."""
    max_age = drill_settings(settings).max_age_days
    try:
        reports = load_reports(settings.state_dir)
    except DrkitError:
        reports = []
    now = datetime.now(UTC)
    out = []
    for f in flows:
        mine = [r for r in reports if (r.source, r.target) == (f.source, f.target)]
        last = mine[0] if mine else None
        ok = last_passing(mine)
        out.append(DrillFacts(
            f.source, f.target, max_age_days=max_age,
            last_run_id=last.run_id if last else None,
            last_finished_at=last.finished_at if last else None,
            last_passed=last.passed if last else None,
            last_success_run_id=ok.run_id if ok else None,
            last_success_at=ok.finished_at if ok else None,
            last_success_age_s=(round((now - ok.finished).total_seconds(), 3) if ok else None)))
    return out


def _runs(settings: Settings) -> list[RunFacts]:
    """The newest runs as ``runs list`` shows them: a damaged or tampered journal as such, a
    ``running`` run nobody runs (its lock's holder is gone) as ``interrupted``."""
    runs = Journal(settings.state_dir).list_runs()[:5]
    live = liveness(settings.state_dir, runs)
    out = []
    for r in runs:
        if isinstance(r, DamagedRun):
            out.append(RunFacts(r.run_id, "?", r.status, None, None, None))
        else:
            out.append(RunFacts(r.run_id, r.kind, shown_status(r, live), r.source, r.target,
                                r.created_at))
    return out
