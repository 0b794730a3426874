"""``approve``: a human (or an explicit automation flag) approves the plan before any change.

The approval names the plan digest it approved, so an audit can tell exactly what was agreed.
The operator is shown what will run — the runbook's path, its sha-256 digest and its steps —
before the plan, so a runbook swapped on disk cannot slip past the prompt. The question is asked
through the engine's :class:`~drkit.runbook.engine.Prompt` (the CLI supplies click's), so this
module imports no UI library.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from drkit.errors import UnsafeError
from drkit.offsets.plan import OffsetPlan
from drkit.offsets.render import plan_table
from drkit.runbook import render
from drkit.runbook.engine import RunContext, StepFailed, now_iso
from drkit.runbook.spec import FieldSpec, Runbook, StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.runbook.steps.common import the_plan


def runbook_summary(runbook: Runbook) -> str:
    """What will run: the file, its digest and every step (id and type), for the approval —
    the same text ``drkit runs show`` prints from the journal (:func:`render.runbook_summary`)."""
    return render.runbook_summary(runbook.name, str(runbook.path), runbook.digest,
                                  ((s.id, s.uses) for s in runbook.steps))


def approved_plan(ctx: RunContext) -> OffsetPlan:
    """The stored plan, checked to be exactly the one approved: its digest (computed from the
    plan itself) must equal the ``plan_digest`` the approve step recorded and the run's last
    approval. Commit and verify act only on this plan; a mismatch is UnsafeError (exit 3)
    naming the field that differs (defence in depth behind the journal's MAC)."""
    plan = the_plan(ctx)
    actual = plan.digest()
    approve = ctx.outputs_of("approve")
    recorded = {
        "steps[approve].outputs.plan_digest": approve.get("plan_digest"),
        "approvals[-1].plan_digest":
            ctx.run.approvals[-1].get("plan_digest") if ctx.run.approvals else None,
    }
    for field, digest in recorded.items():
        if digest != actual:
            raise UnsafeError(
                f"run {ctx.run.run_id}: the stored plan (sha256 {actual[:12]}) is not the plan "
                f"that was approved: {field} is {str(digest)[:12]!r}; the journal was changed "
                "after approval, nothing was committed: start a new run to re-plan")
    return plan


class ApproveStep:
    schema = StepSchema("approve", {"message": FieldSpec("str")},
                        "Show the plan and wait for approval (--yes / DRKIT_APPROVE automate it).")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        plan = the_plan(ctx)
        digest = plan.digest()  # of the plan itself, not the digest translate wrote next to it
        if ctx.outputs_of("translate").get("digest") != digest:
            raise UnsafeError(
                f"run {ctx.run.run_id}: the stored plan (sha256 {digest[:12]}) does not match "
                "steps[translate].outputs.digest; the journal was changed after planning: "
                "start a new run to re-plan")
        if ctx.approve:
            method = ctx.approve
        elif ctx.interactive and ctx.prompt is not None and sys.stdin.isatty():
            ctx.prompt.show(runbook_summary(ctx.runbook))
            ctx.prompt.show(plan_table(plan))
            message = spec.with_.get("message") or (
                f"Approve {ctx.run.kind} {ctx.source} → {ctx.target} (plan {digest[:12]})?")
            if not ctx.prompt.confirm(str(message)):
                raise StepFailed(f"not approved; nothing was changed. Resume later with "
                                 f"`drkit failover --resume {ctx.run.run_id}`")
            method = "interactive"
        else:
            raise StepFailed(f"approval needed and no terminal to ask on: review `drkit runs show "
                             f"{ctx.run.run_id}`, then `drkit failover --resume "
                             f"{ctx.run.run_id} --yes`")
        approval = {"who": ctx.run.who, "at": now_iso(), "method": method, "plan_digest": digest,
                    "step": spec.id}
        ctx.run.approvals.append(approval)
        ctx.audit.append(ctx.run.run_id, "approved", **approval)
        return {"approved_by": ctx.run.who, "method": method, "plan_digest": digest,
                "summary": f"approved by {ctx.run.who} ({method})"}
