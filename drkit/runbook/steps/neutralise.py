"""``neutralise-mm2``: refuse to commit while MM2 would overwrite the commits.

With ``sync.group.offsets.enabled = true`` a live MM2 checkpoint task pushes EMPTY standby
groups to its own checkpoints and overwrites absent groups outright (mm2-reference §4). The
P→B worker writes a (P, B) heartbeat into the standby's ``heartbeats`` topic every
``emit.heartbeats.interval.seconds`` even with P dead, so a fresh one means MM2 is alive.

Heartbeats can be switched off (``emit.heartbeats.enabled = false``) while offset sync stays on,
so they are not the only evidence: dedicated MM2 runs one Connect worker group per source on
the target (``<source>-mm2``, or ``<target>.group.id``) and keeps its status in
``mm2-status.<source>.internal`` there. A worker group with members means MM2 is alive; a
group without members (or gone, with MM2's status topic present) means it is stopped. With
heartbeats off and neither found, drkit cannot tell and refuses.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaException

from drkit.errors import ClusterError, UnsafeError
from drkit.runbook.engine import RunContext
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.runbook.steps.common import cluster


class NeutraliseMM2Step:
    schema = StepSchema("neutralise-mm2", {"alive_within": FieldSpec("duration")},
                        "Refuse while MM2's group-offset sync into the standby is running.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        flow = ctx.flow
        where = flow.origins.get("sync.group.offsets.enabled", "MM2 default")
        if not flow.sync_group_offsets_enabled:
            return {"sync_enabled": False,
                    "summary": f"sync.group.offsets.enabled is false ({where})"}
        props = ctx.settings.mm2_properties
        interval = float(props.get("emit.heartbeats.interval.seconds") or 1)
        alive_within = float(spec.with_.get("alive_within") or 0) or max(10.0, 3 * interval)
        resume = f"`drkit failover --resume {ctx.run.run_id}`"
        group = props.get(f"{ctx.target}.group.id") or f"{ctx.source}-mm2"
        status_topic = (props.get("status.storage.topic")
                        or props.get(f"{ctx.target}.status.storage.topic")
                        or f"mm2-status.{ctx.source}.internal")
        workers, seen_error = self._workers(ctx, group)
        if workers is not None and workers[1] > 0:
            raise UnsafeError(
                f"MM2 is syncing group offsets into {ctx.target}: sync.group.offsets.enabled = "
                f"true ({where}) and its worker group '{group}' on {ctx.target} has "
                f"{workers[1]} member(s) ({workers[0]}); it would overwrite drkit's commits. "
                f"Stop MM2's {flow.name} workers (they leave the group at once, or after "
                f"session.timeout.ms if killed), then {resume}")
        out: dict[str, Any] = {"sync_enabled": True, "mm2_alive": False,
                               "worker_group": group,
                               "worker_members": None if workers is None else workers[1]}
        if not flow.emit_heartbeats_enabled:
            hb_where = flow.origins.get("emit.heartbeats.enabled", "emit.heartbeats.enabled")
            if workers is None and seen_error is None and self._topic_exists(ctx, status_topic):
                workers = ("absent", 0)  # the group was removed after its last member left
            if workers is None:
                why = seen_error or (f"no MM2 worker group '{group}' and no status topic "
                                     f"'{status_topic}' on {ctx.target}")
                raise UnsafeError(
                    f"cannot tell whether MM2 is syncing group offsets into {ctx.target}: "
                    f"sync.group.offsets.enabled = true ({where}), heartbeats are off "
                    f"(emit.heartbeats.enabled = false at {hb_where}) and {why}. Stop MM2's "
                    f"{flow.name} checkpoint connector, set {flow.name}.sync.group.offsets."
                    f"enabled = false in {ctx.settings.mm2_config_path}, then {resume}")
            return {**out, "summary": f"offset sync is configured but MM2 is not running "
                                      f"(worker group '{group}' on {ctx.target} has no "
                                      f"members; heartbeats are off)"}
        first = self._newest(ctx)
        age = None if first is None else max(0.0, time.time() - first / 1000)
        alive = False
        if age is not None and age <= alive_within:
            # Recent, but MM2 may have been stopped a moment ago (e.g. by an exec step): it is
            # alive only if it writes another heartbeat within two intervals.
            deadline = time.monotonic() + 2 * interval + 1
            while not alive and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
                newest = self._newest(ctx)
                alive = newest is not None and newest > first  # type: ignore[operator]
        if alive:
            raise UnsafeError(
                f"MM2 is syncing group offsets into {ctx.target}: sync.group.offsets.enabled = "
                f"true ({where}) and its {flow.name} worker is writing heartbeats; "
                f"it would overwrite drkit's commits. Stop MM2's {flow.name} checkpoint connector "
                f"(or add an exec step before this one that does), then {resume}")
        seen = "never" if age is None else f"{age:.0f} s ago"
        return {**out, "last_heartbeat_age_s": age,
                "summary": f"offset sync is configured but MM2 is not running "
                           f"(last heartbeat {seen})"}

    @staticmethod
    def _workers(ctx: RunContext, group: str) -> tuple[tuple[str, int] | None, str | None]:
        """(state, member count) of MM2's Connect worker group on the target, or None if the
        group does not exist; and the error text when the cluster would not say."""
        admin = cluster(ctx, ctx.target, timeout_s=ctx.time_left(15))
        try:
            with warnings.catch_warnings():
                # list_groups is the one call that describes a Connect ("connect" protocol)
                # group: describe_consumer_groups refuses it as "not a consumer group".
                warnings.simplefilter("ignore", DeprecationWarning)
                found = admin.admin.list_groups(group=group, timeout=admin.timeout_s)
        except KafkaException as exc:
            err = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else exc
            return None, f"listing group '{group}' on {ctx.target} failed: {err}"
        for meta in found:
            if meta.id == group and meta.error is None and meta.state not in ("Dead", ""):
                return (str(meta.state), len(meta.members)), None
        return None, None

    @staticmethod
    def _topic_exists(ctx: RunContext, topic: str) -> bool:
        return topic in cluster(ctx, ctx.target, timeout_s=ctx.time_left(15)).topics()

    @staticmethod
    def _newest(ctx: RunContext) -> int | None:
        """Timestamp (ms) of the newest (source, target) heartbeat on the target, if any."""
        try:
            beats = ctx.mirror.heartbeats(ctx.mirror.heartbeats_topic,
                                          timeout_s=ctx.time_left(30),
                                          strict=bool(ctx.args.get("strict")))
        except ClusterError as exc:
            if "does not exist" not in str(exc):
                raise
            return None
        hb = beats.get((ctx.source, ctx.target))
        return None if hb is None else hb.timestamp_ms
