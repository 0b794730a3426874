"""``approve``: a human (or an explicit automation flag) approves the plan before any change.

The approval names the plan digest it approved, so an audit can tell exactly what was agreed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click

from drkit import render
from drkit.runbook.engine import RunContext, StepFailed, now_iso
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.runbook.steps.common import the_plan


class ApproveStep:
    schema = StepSchema("approve", {"message": FieldSpec("str")},
                        "Show the plan and wait for approval (--yes / DRKIT_APPROVE automate it).")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        digest = ctx.outputs_of("translate")["digest"]
        plan = the_plan(ctx)
        if ctx.approve:
            method = ctx.approve
        elif ctx.interactive and sys.stdin.isatty():
            click.echo(render.plan_table(plan), err=True)
            message = spec.with_.get("message") or (
                f"Approve {ctx.run.kind} {ctx.source} → {ctx.target} (plan {digest[:12]})?")
            if not click.confirm(str(message), default=False, err=True):
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
