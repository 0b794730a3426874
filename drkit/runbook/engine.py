"""Run a runbook's steps in order, journaling each one, so a killed run can be resumed.

Every step is idempotent: on resume the engine skips succeeded steps and re-enters the one that
was running (its partial outputs, such as the commit step's offset snapshot, are in the
journal). Failpoints (``DRKIT_FAILPOINT``) let the crash tests SIGKILL the process at exact
places: ``before:<step>``, ``after:<step>``, ``commit-batch:<n>`` (after batch n is journaled) and
``commit-unsaved:<n>`` (after batch n is committed but before the journal knows).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol

from drkit.config import Flow, Settings
from drkit.errors import DrkitError, UnsafeError
from drkit.failpoints import failpoint as failpoint
from drkit.mm2.client import MirrorTopics
from drkit.runbook.audit import AuditLog
from drkit.runbook.spec import Runbook, StepSchema, StepSpec, parse_condition
from drkit.runbook.state import Journal, RunState, StepState

Say = Callable[[str], None]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StepFailed(DrkitError):
    """A step could not do its job; the message says what and what to do."""


class StepRefused(UnsafeError):
    """A step refused to go on because it would be unsafe (exit 3); the message names the flag
    that overrides it."""


class Prompt(Protocol):
    """How a step talks to the human at the terminal; the CLI layer supplies one (click).

    The engine and its steps never import a UI library, so they run the same under automation,
    in tests and behind any future front end.
    """

    def show(self, text: str) -> None:
        """Print ``text`` for the operator (on stderr: stdout is for --output json)."""
        ...

    def confirm(self, question: str) -> bool:
        """Ask a yes/no ``question``; False unless the operator says yes."""
        ...


@dataclass
class RunContext:
    """What a step sees: settings, the run (args, earlier outputs), and a way to save progress.

    ``flow`` and ``mirror`` are resolved once per run (per process): every step sees the same
    flow settings, and the checkpoints topic is scanned once however many steps read it.
    """

    settings: Settings
    run: RunState
    runbook: Runbook
    journal: Journal
    audit: AuditLog
    say: Say
    approve: str | None = None  # how approval was given non-interactively ("--yes", env)
    interactive: bool = False
    deadline: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    prompt: Prompt | None = None

    @cached_property
    def flow(self) -> Flow:
        """The run's MM2 flow, looked up once (a clear ConfigError if it is unknown or off)."""
        return self.settings.flow(self.source, self.target)

    @cached_property
    def mirror(self) -> MirrorTopics:
        """MM2's internal topics on the target; caches the checkpoints scan for the run."""
        return MirrorTopics.for_flow(self.settings, self.flow)

    @property
    def source(self) -> str:
        return self.run.source

    @property
    def target(self) -> str:
        return self.run.target

    @property
    def args(self) -> dict[str, Any]:
        return self.run.args

    def save(self) -> None:
        self.journal.save(self.run)

    def outputs_of(self, uses: str) -> dict[str, Any]:
        """Outputs of the (last) earlier step of type ``uses`` that succeeded."""
        for spec in reversed(self.runbook.steps):
            st = self.run.step(spec.id)
            if spec.uses == uses and st.status == "succeeded":
                return st.outputs
        raise StepFailed(f"run {self.run.run_id}: this step needs a successful '{uses}' step "
                         "earlier in the runbook")

    def time_left(self, default: float) -> float:
        if self.deadline is None:
            return default
        return max(1.0, min(default, self.deadline - time.monotonic()))


class Step(Protocol):
    schema: StepSchema

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        """Do the step (idempotently) and return outputs to journal."""
        ...


def condition_context(ctx: RunContext) -> dict[str, Any]:
    return {
        "planned": bool(ctx.args.get("planned")), "args": ctx.args, "kind": ctx.run.kind,
        "source": ctx.source, "target": ctx.target,
        "dns": {"configured": bool(ctx.settings.dns.get("provider"))},
    }


#: Step types that change nothing outside drkit's state dir. Any other step (commit, dns-flip,
#: exec, the drill's, a plugin's) counts as a side effect once it has started.
READ_ONLY_STEPS = frozenset({"preflight", "neutralise-mm2", "translate", "approve"})


def side_effect_started(run: RunState) -> bool:
    """Has any step that may change the clusters, DNS or the world started (in this process or
    an earlier one of the same run)? Until then a failed run leaves nothing half-done."""
    return any(st.uses not in READ_ONLY_STEPS and (st.attempts > 0 or st.status not in
                                                   ("pending", "skipped"))
               for st in run.steps)


def run_steps(ctx: RunContext, steps: Mapping[str, Step]) -> RunState:
    """Run (or resume) every step; returns the finished run or raises the failing step's error."""
    run, total = ctx.run, len(ctx.runbook.steps)
    run.status = "running"
    ctx.save()
    for n, spec in enumerate(ctx.runbook.steps, start=1):
        state = run.step(spec.id)
        label = f"[{n}/{total}] {spec.id}"
        if state.status in ("succeeded", "skipped"):
            ctx.say(f"{label}: {state.status} earlier")
            continue
        failpoint(f"before:{spec.id}")
        if spec.when and not parse_condition(spec.when).evaluate(condition_context(ctx)):
            state.status, state.ended_at = "skipped", now_iso()
            state.outputs = {"reason": f"when = {spec.when!r} is false"}
            ctx.save()
            ctx.say(f"{label}: skipped ({spec.when} is false)")
            continue
        _run_one(ctx, steps[spec.uses], spec, state, label)
        failpoint(f"after:{spec.id}")
    run.status = "succeeded"
    ctx.save()
    ctx.audit.append(run.run_id, "run-succeeded", who=run.who)
    return run


def _run_one(ctx: RunContext, step: Step, spec: StepSpec, state: StepState, label: str) -> None:
    attempts_left = spec.retries + 1
    while True:
        resumed = state.status in ("running", "interrupted", "failed")
        state.status, state.started_at, state.error = "running", now_iso(), None
        state.attempts += 1
        ctx.save()
        ctx.audit.append(ctx.run.run_id, "step-started", step=spec.id, attempt=state.attempts,
                         reentered=resumed)
        ctx.say(f"{label} ({spec.uses}){' re-entered' if resumed else ''} …")
        started = time.monotonic()
        ctx.deadline = started + spec.timeout_s if spec.timeout_s else None
        try:
            outputs = step.run(ctx, spec, state)
        except KeyboardInterrupt:
            state.status, state.ended_at = "interrupted", now_iso()
            ctx.run.status = "interrupted"
            ctx.save()
            ctx.audit.append(ctx.run.run_id, "run-interrupted", step=spec.id)
            raise
        except DrkitError as exc:
            attempts_left -= 1
            state.status, state.ended_at, state.error = "failed", now_iso(), str(exc)
            ctx.save()
            ctx.audit.append(ctx.run.run_id, "step-failed", step=spec.id, error=str(exc))
            if attempts_left > 0:
                ctx.say(f"{label}: failed ({exc}); retrying")
                continue
            if spec.on_failure == "continue":
                ctx.say(f"{label}: FAILED, continuing (on_failure = continue): {exc}")
                return
            ctx.run.status = "failed"
            ctx.save()
            raise
        finally:
            ctx.deadline = None
        state.outputs.update(outputs)
        state.status, state.ended_at = "succeeded", now_iso()
        ctx.save()
        ctx.audit.append(ctx.run.run_id, "step-succeeded", step=spec.id)
        ctx.say(f"{label}: ok ({time.monotonic() - started:.1f} s)"
                + (f" — {outputs['summary']}" if outputs.get("summary") else ""))
        return
