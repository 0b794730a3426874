"""``commit``: snapshot the standby's offsets, then commit the stored plan, batch by batch.

Exactly-once on resume: before committing a batch the step reads the groups' current offsets
and skips every group that already holds exactly the planned offsets (committed before the
kill, even if the journal never heard about it). The snapshot taken before the first commit is
kept across resumes, so ``drkit runs rollback`` restores what was there before drkit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drkit.errors import ClusterError, UnsafeError
from drkit.offsets.apply import commit_offsets
from drkit.runbook.engine import RunContext, failpoint
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.runbook.steps.approve import approved_plan
from drkit.runbook.steps.common import cluster, offsets_to_json


class CommitStep:
    schema = StepSchema("commit", {"batch": FieldSpec("int", default=200)},
                        "Snapshot standby offsets, then commit the plan into empty groups.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        plan = approved_plan(ctx)  # exit 3 before anything is applied if it is not
        commits = dict(plan.commits())
        out = state.outputs
        if "plan_digest" in out and out["plan_digest"] != plan.digest():
            raise UnsafeError(
                f"run {ctx.run.run_id}: steps[commit].outputs.plan_digest "
                f"({str(out['plan_digest'])[:12]!r}) is not the approved plan's "
                f"({plan.digest()[:12]}): the journal was changed; nothing more was committed")
        target = cluster(ctx, ctx.target)
        if "snapshot" not in out:
            before = target.committed(commits)
            out["snapshot"] = {g: offsets_to_json(before.get(g, {})) for g in sorted(commits)}
            out["plan_digest"] = plan.digest()
            ctx.save()  # the snapshot is on disk before the first offset changes
        results: dict[str, Any] = out.setdefault("groups", {})
        batch = max(1, int(spec.with_.get("batch") or 200))
        todo = sorted(g for g in commits if results.get(g, {}).get("outcome") != "committed")
        for n, i in enumerate(range(0, len(todo), batch), start=1):
            chunk = todo[i:i + batch]
            current = target.committed(chunk)
            already = [g for g in chunk
                       if all(current.get(g, {}).get(tp) == off for tp, off in commits[g].items())]
            for g in already:
                results[g] = {"outcome": "committed", "note": "already in place"}
            res = commit_offsets(target, [(g, commits[g]) for g in chunk if g not in already])
            failpoint(f"commit-unsaved:{n}")  # committed on the broker, not yet in the journal
            for r in res.results:
                results[r.group] = {"outcome": r.outcome, "error": r.error or None,
                                    "attempts": r.attempts}
            ctx.save()
            failpoint(f"commit-batch:{n}")
        refused = sorted(g for g, r in results.items() if r["outcome"] == "refused")
        failed = sorted(g for g, r in results.items() if r["outcome"] == "failed")
        done = sum(1 for r in results.values() if r["outcome"] == "committed")
        if failed:
            raise ClusterError(f"{len(failed)} groups could not be committed on {ctx.target} "
                               f"({', '.join(failed[:3])}…): {results[failed[0]]['error']}; "
                               f"resume with `drkit failover --resume {ctx.run.run_id}`")
        if refused:
            raise UnsafeError(f"{len(refused)} groups have active members on {ctx.target} "
                              f"({', '.join(refused[:3])}); stop their consumers there, then "
                              f"`drkit failover --resume {ctx.run.run_id}`")
        return {"committed": done, "refused_in_plan": [g.group for g in plan.refused_groups],
                "summary": f"{done} groups committed"
                + (f", {len(plan.refused_groups)} refused in the plan"
                   if plan.refused_groups else "")}
