"""``exec``: run an operator's command with the run's context in its environment.

Commands must be idempotent (``systemctl stop`` is): a run killed while the command ran
re-enters this step on resume and runs it again.

The command does not inherit drkit's environment: drkit runs with production credentials (AWS
keys and session tokens, passwords in variables), and a runbook step is not entitled to them.
It gets :data:`BASE_ENV` (when set), the ``DRKIT_*`` run variables, the variables its ``env``
table sets, and only those of drkit's variables that ``pass_env`` names.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from typing import Any

from drkit.runbook.engine import RunContext, StepFailed
from drkit.runbook.spec import FieldSpec, StepSchema, StepSpec
from drkit.runbook.state import StepState

MAX_CAPTURE = 16_384
#: Passed on from drkit's environment when set: what a command needs to run at all.
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_names(names: list[str]) -> str | None:
    bad = [n for n in names if not ENV_NAME.fullmatch(n)]
    return (f"{bad[0]!r} is not an environment variable name (letters, digits and '_', not "
            "starting with a digit)") if bad else None


def _env_table(table: dict[str, Any]) -> str | None:
    problem = _env_names(list(table))
    if problem:
        return problem
    for name, value in table.items():
        if not isinstance(value, str | int | float | bool) or "\0" in str(value):
            return f"{name}: expected a string, got {value!r}"
    return None


def command_env(spec: StepSpec, run_vars: Mapping[str, str]) -> dict[str, str]:
    """The command's whole environment: base variables, ``pass_env``, ``env``, then the run's
    ``DRKIT_*`` variables (which nothing overrides). Nothing else of ``os.environ``."""
    env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update({k: os.environ[k] for k in spec.with_.get("pass_env") or () if k in os.environ})
    env.update({str(k): str(v) for k, v in (spec.with_.get("env") or {}).items()})
    env.update(run_vars)
    return env


def _tail(text: str) -> str:
    return text if len(text) <= MAX_CAPTURE else "…" + text[-MAX_CAPTURE:]


class ExecStep:
    schema = StepSchema("exec", {"command": FieldSpec("list[str]", required=True),
                                 "timeout": FieldSpec("duration"),
                                 "env": FieldSpec("table", check=_env_table),
                                 "pass_env": FieldSpec("list[str]", check=_env_names)},
                        "Run a command (fence producers, stop MM2, notify) with run context "
                        "and a minimal environment.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        command = [str(c) for c in spec.with_["command"]]
        timeout = float(spec.with_.get("timeout") or spec.timeout_s or 300)
        run_vars = {"DRKIT_RUN_ID": ctx.run.run_id, "DRKIT_RUN_KIND": ctx.run.kind,
                    "DRKIT_SOURCE": ctx.source, "DRKIT_TARGET": ctx.target,
                    "DRKIT_STEP_ID": spec.id, "DRKIT_STATE_DIR": str(ctx.settings.state_dir)}
        if ctx.settings.config_path:
            run_vars["DRKIT_CONFIG"] = str(ctx.settings.config_path)
        env = command_env(spec, run_vars)
        try:
            proc = subprocess.run(command, capture_output=True, text=True, env=env,
                                  timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        except FileNotFoundError:
            raise StepFailed(f"step {spec.id}: command not found: {command[0]}") from None
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
            out = ctx.journal.scrub_text(out)
            state.outputs.update({"stdout": _tail(out), "timed_out": True})
            raise StepFailed(f"step {spec.id}: {command[0]} did not finish within "
                             f"{timeout:.0f} s") from None
        # Secrets drkit knows are cut from the output before it is journaled, shown or quoted.
        stdout, stderr = ctx.journal.scrub_text(proc.stdout), ctx.journal.scrub_text(proc.stderr)
        outputs = {"command": command, "exit_code": proc.returncode,
                   "stdout": _tail(stdout), "stderr": _tail(stderr)}
        if proc.returncode != 0:
            state.outputs.update(outputs)
            last = (stderr.strip() or stdout.strip()).splitlines()[-1:] or [""]
            raise StepFailed(f"step {spec.id}: {' '.join(command)} exited {proc.returncode}"
                             + (f": {last[0][:200]}" if last[0] else ""))
        return {**outputs, "summary": f"{command[0]} exited 0"}
