"""``neutralise-mm2``: refuse to commit while MM2 would overwrite the commits.

With ``sync.group.offsets.enabled = true`` a live MM2 checkpoint task pushes EMPTY standby
groups to its own checkpoints and overwrites absent groups outright (mm2-reference §4). The
P→B worker writes a (P, B) heartbeat into the standby's ``heartbeats`` topic every
``emit.heartbeats.interval.seconds`` even with P dead, so a fresh one means MM2 is alive.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from drkit.errors import ClusterError, UnsafeError
from drkit.runbook.engine import RunContext
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState


class NeutraliseMM2Step:
    schema = StepSchema("neutralise-mm2", {"alive_within": FieldSpec("duration")},
                        "Refuse while MM2's group-offset sync into the standby is running.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        flow = ctx.flow
        where = flow.origins.get("sync.group.offsets.enabled", "MM2 default")
        if not flow.sync_group_offsets_enabled:
            return {"sync_enabled": False,
                    "summary": f"sync.group.offsets.enabled is false ({where})"}
        interval = float(ctx.settings.mm2_properties.get("emit.heartbeats.interval.seconds")
                         or 1)
        alive_within = float(spec.with_.get("alive_within") or 0) or max(10.0, 3 * interval)
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
                f"(or add an exec step before this one that does), then `drkit failover --resume "
                f"{ctx.run.run_id}`")
        seen = "never" if age is None else f"{age:.0f} s ago"
        return {"sync_enabled": True, "mm2_alive": False, "last_heartbeat_age_s": age,
                "summary": f"offset sync is configured but MM2 is not running "
                           f"(last heartbeat {seen})"}

    @staticmethod
    def _newest(ctx: RunContext) -> int | None:
        """Timestamp (ms) of the newest (source, target) heartbeat on the target, if any."""
        try:
            beats = ctx.mirror.heartbeats(ctx.mirror.heartbeats_topic,
                                          timeout_s=ctx.time_left(30))
        except ClusterError as exc:
            if "does not exist" not in str(exc):
                raise
            return None
        hb = beats.get((ctx.source, ctx.target))
        return None if hb is None else hb.timestamp_ms
