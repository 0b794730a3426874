"""``exec``: run an operator's command with the run's context in its environment.

Commands must be idempotent (``systemctl stop`` is): a run killed while the command ran
re-enters this step on resume and runs it again.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from typing import Any

from drkit.runbook.engine import RunContext, StepFailed
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState

MAX_CAPTURE = 16_384


def _tail(text: str) -> str:
    return text if len(text) <= MAX_CAPTURE else "…" + text[-MAX_CAPTURE:]


class ExecStep:
    schema = StepSchema("exec", {"command": FieldSpec("list[str]", required=True),
                                 "timeout": FieldSpec("duration"), "env": FieldSpec("table")},
                        "Run a command (fence producers, stop MM2, notify) with run context.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        command = [str(c) for c in spec.with_["command"]]
        timeout = float(spec.with_.get("timeout") or spec.timeout_s or 300)
        env = {**os.environ, **{str(k): str(v) for k, v in (spec.with_.get("env") or {}).items()},
               "DRKIT_RUN_ID": ctx.run.run_id, "DRKIT_RUN_KIND": ctx.run.kind,
               "DRKIT_SOURCE": ctx.source, "DRKIT_TARGET": ctx.target, "DRKIT_STEP_ID": spec.id,
               "DRKIT_STATE_DIR": str(ctx.settings.state_dir)}
        if ctx.settings.config_path:
            env["DRKIT_CONFIG"] = str(ctx.settings.config_path)
        try:
            proc = subprocess.run(command, capture_output=True, text=True, env=env,
                                  timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        except FileNotFoundError:
            raise StepFailed(f"step {spec.id}: command not found: {command[0]}") from None
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
            state.outputs.update({"stdout": _tail(out), "timed_out": True})
            raise StepFailed(f"step {spec.id}: {command[0]} did not finish within "
                             f"{timeout:.0f} s") from None
        outputs = {"command": command, "exit_code": proc.returncode,
                   "stdout": _tail(proc.stdout), "stderr": _tail(proc.stderr)}
        if proc.returncode != 0:
            state.outputs.update(outputs)
            last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
            raise StepFailed(f"step {spec.id}: {' '.join(command)} exited {proc.returncode}"
                             + (f": {last[0][:200]}" if last[0] else ""))
        return {**outputs, "summary": f"{command[0]} exited 0"}
