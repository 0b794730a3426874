"""``translate``: read the checkpoints and store the plan; later steps apply exactly this plan.

The checkpoints come from the run's shared :attr:`~drkit.runbook.engine.RunContext.mirror`: if
preflight scanned them in this process, that scan is reused; a resumed run that skips preflight
scans them here, once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from drkit.offsets.gather import gather_plan
from drkit.offsets.options import options_from_args
from drkit.runbook.engine import RunContext
from drkit.runbook.spec import StepSchema, StepSpec
from drkit.runbook.state import StepState
from drkit.textsafe import safe


class TranslateStep:
    schema = StepSchema("translate", {}, "Read MM2's checkpoints on the standby and plan.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        options, thresholds = options_from_args(ctx.args)
        stopped = self._replication_stopped_ms(ctx)
        if stopped is not None:  # source down: checkpoint ages as of when replication stopped
            options = dataclasses.replace(options, now_ms=stopped)
        plan, inputs = gather_plan(ctx.settings, ctx.source, ctx.target, options,
                                   timeout_s=ctx.time_left(float(ctx.args.get("timeout", 60))),
                                   source_down=self._source_down(ctx), flow=ctx.flow,
                                   mirror=ctx.mirror)
        state.outputs.update({"plan": plan.to_dict(), "digest": plan.digest(),
                              "inputs": inputs.to_dict(), "stats": plan.stats.to_dict()})
        for note in inputs.notes:  # e.g. a setting this MM2 version ignores (file:line)
            ctx.say(f"note: {safe(note)}")
        plan.raise_if_unsafe(thresholds)
        s = plan.stats
        return {"summary": f"{len(plan.groups)} groups, "
                           f"{s.partitions_by_action.get('commit', 0)} partitions to commit, "
                           f"digest {plan.digest()[:12]}"}

    @staticmethod
    def _replication_stopped_ms(ctx: RunContext) -> int | None:
        """Preflight's readiness reference time when it found the source down (the one rule in
        :mod:`drkit.offsets.readiness`), so the plan's ``--max-checkpoint-age`` means the same
        as preflight's; None with the source up (ages against the clock)."""
        for st in ctx.run.steps:
            readiness = st.outputs.get("readiness") if st.uses == "preflight" else None
            if isinstance(readiness, dict) and readiness.get("source_reachable") is False:
                ref = readiness.get("reference_ms")
                return ref if isinstance(ref, int) and not isinstance(ref, bool) else None
        return None

    @staticmethod
    def _source_down(ctx: RunContext) -> str | None:
        """What preflight found, if it ran in this process moments ago and the source was down.

        Only within the same process (a resume probes again: the source may be back).
        """
        pre = ctx.extra.get("preflight")
        if isinstance(pre, dict) and pre.get("source_reachable") is False:
            return str(pre.get("source_error") or "unreachable in preflight")
        return None
