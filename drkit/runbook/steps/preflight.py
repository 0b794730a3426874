"""``preflight``: is a failover possible now, and what is the RPO evidence?

The standby must answer and hold MM2's checkpoints. The source may be dead (that is what an
unplanned failover is for); its heartbeat age on the standby is recorded as RPO evidence and
only fails the step when ``strict`` or when the source still answers (a planned switchover).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from drkit.errors import ClusterError
from drkit.kafka.groups import group_is_active
from drkit.runbook.engine import RunContext, StepFailed
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.runbook.steps.common import cluster


class PreflightStep:
    schema = StepSchema(
        "preflight",
        {"max_heartbeat_age": FieldSpec("duration"), "max_checkpoint_age": FieldSpec("duration"),
         "strict": FieldSpec("bool", default=False)},
        "Clusters reachable, MM2 fresh, target groups empty, partition counts match.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        policy = ctx.flow.policy()
        mirror = ctx.mirror
        strict = bool(spec.with_.get("strict"))
        target = cluster(ctx, ctx.target)
        info = target.describe()
        problems: list[str] = []
        out: dict[str, Any] = {"target": {"cluster_id": info.cluster_id,
                                          "brokers": info.broker_count}}
        try:
            cluster(ctx, ctx.source, timeout_s=5.0).describe()
            source_up = True
        except ClusterError as exc:
            source_up, out["source_error"] = False, str(exc)
        out["source_reachable"] = source_up
        now = time.time()

        index = mirror.checkpoints(timeout_s=ctx.time_left(60))  # shared with translate
        newest = max((sc.timestamp_ms for parts in index.by_group.values()
                      for sc in parts.values()), default=None)
        out["checkpoints"] = {"groups": len(index.by_group), "records": index.records_read,
                              "newest_age_s": None if newest is None else now - newest / 1000}
        max_cp = spec.with_.get("max_checkpoint_age")
        cp_age = out["checkpoints"]["newest_age_s"]
        if max_cp is not None and (cp_age is None or cp_age > float(max_cp)):
            problems.append(f"newest checkpoint is {_age(cp_age)} old (max {max_cp:.0f} s)")

        hb_topic = mirror.remote_heartbeats_topic
        try:
            beats = mirror.heartbeats(hb_topic, timeout_s=ctx.time_left(30))
            ts = max((h.timestamp_ms for h in beats.values()), default=None)
            hb_age = None if ts is None else now - ts / 1000
        except ClusterError as exc:
            hb_age, out["heartbeats_error"] = None, str(exc)
        out["heartbeat_age_s"] = hb_age  # end-to-end replication health: the RPO evidence
        max_hb = spec.with_.get("max_heartbeat_age")
        if max_hb is not None and (hb_age is None or hb_age > float(max_hb)) and (
                strict or source_up):
            problems.append(f"newest heartbeat in {hb_topic} is {_age(hb_age)} old "
                            f"(max {max_hb:.0f} s)")

        active = target.describe_groups(index.by_group)
        busy = sorted(g for g, (st, members) in active.items() if group_is_active(st, members))
        out["active_groups_on_target"] = busy  # the plan refuses these; listed early here

        if source_up:
            mismatches = _partition_mismatches(ctx, policy, target)
            out["partition_mismatches"] = mismatches
            problems += mismatches
        if problems:
            state.outputs.update(out)
            raise StepFailed(f"preflight: {'; '.join(problems)}")
        ctx.extra["preflight"] = out
        src = "up" if source_up else "UNREACHABLE"
        return {**out, "summary": f"{ctx.target} up, {ctx.source} {src}, "
                                  f"{len(index.by_group)} groups checkpointed, heartbeat "
                                  f"{_age(hb_age)} old"}


def _age(seconds: float | None) -> str:
    return "never seen" if seconds is None else f"{seconds:.0f} s"


def _partition_mismatches(ctx: RunContext, policy: Any, target: Any) -> list[str]:
    flow = ctx.flow
    src_topics = cluster(ctx, ctx.source, timeout_s=5.0).topics()
    tgt_topics = target.topics()
    out = []
    for topic, count in sorted(src_topics.items()):
        if not flow.topic_included(topic) or policy.is_internal_topic(topic):
            continue
        remote = policy.format_remote_topic(ctx.source, topic)
        if remote in tgt_topics and tgt_topics[remote] != count:
            out.append(f"{topic} has {count} partitions on {ctx.source} but {remote} has "
                       f"{tgt_topics[remote]} on {ctx.target}")
    return out
