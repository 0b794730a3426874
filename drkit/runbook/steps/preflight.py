"""``preflight``: is a failover possible now, and what is the RPO evidence?

The standby must answer and hold MM2's checkpoints. Their freshness is judged by the one
readiness rule :mod:`drkit.offsets.readiness` (shared with ``drkit status`` and ``drkit plan``):
against the clock while the source answers, and at the moment replication stopped when it does
not (an unplanned failover an hour after the outage is not refused for being an hour late; the
outage's age is recorded as RPO evidence). A refusal is exit 3 and names the flag
(``--max-checkpoint-age``, ``--max-heartbeat-age``) that overrides the runbook's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drkit import clock
from drkit.errors import ClusterError
from drkit.kafka.groups import group_is_active
from drkit.offsets.readiness import (
    ReadinessFacts,
    ReadinessLimits,
    judge,
    limits_from,
    newest_checkpoint,
)
from drkit.runbook.engine import RunContext, StepFailed, StepRefused
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

        disabled = ctx.flow.checkpoints_disabled_reason()
        if disabled is not None:  # issue 18 item 5: whatever checkpoints exist are stale
            out["checkpoints_disabled"] = disabled
            state.outputs.update(out)
            raise StepRefused(f"preflight refused: {disabled}, so no checkpoint there is "
                              "current; a failover would move groups to stale positions")
        strict = bool(ctx.args.get("strict"))  # --strict: a malformed MM2 record fails the read
        index = mirror.checkpoints(timeout_s=ctx.time_left(60), strict=strict)  # as translate
        groups, newest = newest_checkpoint(index.by_group)
        hb_topic = mirror.remote_heartbeats_topic
        try:
            beats = mirror.heartbeats(hb_topic, timeout_s=ctx.time_left(30), strict=strict)
            hb_ms = max((h.timestamp_ms for h in beats.values()), default=None)
        except ClusterError as exc:
            hb_ms, out["heartbeats_error"] = None, str(exc)
        # One rule with `drkit status` and `drkit plan` (drkit.offsets.readiness); the flags
        # --max-checkpoint-age / --max-heartbeat-age override the runbook's limits.
        verdict = judge(ReadinessFacts(
            ctx.source, ctx.target, clock.now_ms(), source_up, mirror.checkpoints_topic,
            groups, newest, hb_topic, hb_ms), limits_from(dict(spec.with_), ctx.args))
        out["readiness"] = verdict.to_dict()
        out["checkpoints"] = {"groups": len(index.by_group), "records": index.records_read,
                              "newest_age_s": verdict.checkpoint_age_s}
        out["heartbeat_age_s"] = verdict.heartbeat_age_s  # RPO evidence
        out["outage_age_s"] = verdict.outage_age_s
        for note in verdict.notes:
            ctx.say(f"preflight: {note}")
        refusals = list(verdict.refusals)

        active = target.describe_groups(index.by_group)
        busy = sorted(g for g, (st, members) in active.items() if group_is_active(st, members))
        out["active_groups_on_target"] = busy  # the plan refuses these; listed early here

        if source_up:
            mismatches = _partition_mismatches(ctx, policy, target)
            out["partition_mismatches"] = mismatches
            problems += mismatches
        if refusals:
            state.outputs.update(out)
            raise StepRefused(f"preflight refused: {'; '.join(refusals)}")
        if problems:
            state.outputs.update(out)
            raise StepFailed(f"preflight: {'; '.join(problems)}")
        ctx.extra["preflight"] = out
        return {**out, "summary": verdict.summary()}


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


def failover_limits(settings: Any, args: Mapping[str, Any] | None = None,
                    runbook: str = "failover") -> ReadinessLimits:
    """The readiness limits a failover would use now: its runbook's ``preflight`` step (found as
    ``drkit failover`` finds it) overridden by ``args`` (the flags), so ``drkit status`` and
    ``drkit plan`` judge exactly as the preflight step will. No readable runbook: no limits."""
    from drkit.errors import DrkitError
    from drkit.runbook.session import load_checked  # session imports the steps

    try:
        book = load_checked(settings, runbook)
    except DrkitError:
        configured: dict[str, Any] = {}
    else:
        configured = next((dict(s.with_) for s in book.steps if s.uses == "preflight"), {})
    return limits_from(configured, dict(args or {}))
