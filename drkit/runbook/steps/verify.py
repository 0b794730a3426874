"""``verify``: the standby's committed offsets equal the plan, after MM2 had time to interfere.

If MM2's own group-offset sync is on, it may overwrite drkit's commits up to one sync interval
later (mm2-reference §4), so the step waits a little longer than that before comparing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from drkit.runbook.engine import RunContext, StepFailed
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.runbook.steps.approve import approved_plan
from drkit.runbook.steps.common import cluster


class VerifyStep:
    schema = StepSchema("verify", {"settle": FieldSpec("duration")},
                        "Check the committed offsets on the standby equal the plan.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        plan = approved_plan(ctx)  # the plan's own groups, checked against the approval
        flow = ctx.flow
        settle = spec.with_.get("settle")
        if settle is None:
            sync_on = flow.sync_group_offsets_enabled
            settle = flow.sync_group_offsets_interval_s + 2 if sync_on else 0
        if settle:
            ctx.say(f"waiting {settle:.0f} s for MM2's offset sync to show itself")
            time.sleep(float(settle))
        commits = dict(plan.commits())
        actual = cluster(ctx, ctx.target).committed(commits)
        moved = []
        for group, offsets in sorted(commits.items()):
            for tp, want in sorted(offsets.items()):
                got = actual.get(group, {}).get(tp)
                if got != want:
                    moved.append(f"{group} {tp}: planned {want}, found {got}")
        if moved:
            raise StepFailed(f"{len(moved)} partitions differ from the plan on {ctx.target} "
                             f"({moved[0]}); if MM2's sync.group.offsets is running it overwrote "
                             "them: stop it, then run `drkit failover` again to re-plan")
        n = sum(len(o) for o in commits.values())
        return {"partitions_checked": n, "settle_s": settle,
                "summary": f"{n} partitions of {len(commits)} groups match the plan"}
