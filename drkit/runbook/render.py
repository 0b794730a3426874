"""Runs as text: the step table of a run, the list of runs. ≤100 columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tabulate import tabulate

from drkit.runbook.state import DamagedRun, RunState, RunSummary
from drkit.text import clip


def _secs(a: str | None, b: str | None) -> str:
    if not a or not b:
        return "-"
    try:
        delta = datetime.fromisoformat(b.replace("Z", "+00:00")) - datetime.fromisoformat(
            a.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    return f"{delta.total_seconds():.1f} s"


def run_table(run: RunState) -> str:
    head = [f"Run {run.run_id}", f"  {run.kind} {run.source} → {run.target}, runbook "
            f"{run.runbook}, by {run.who}, status {run.status.upper()}"]
    for a in run.approvals:
        head.append(f"  approved by {a.get('who')} ({a.get('method')}) at {a.get('at')}, "
                    f"plan {str(a.get('plan_digest'))[:12]}")
    rows = []
    for s in run.steps:
        note = s.error or s.outputs.get("summary") or ""
        rows.append([clip(s.id, 18), clip(s.uses, 14), s.status, _secs(s.started_at, s.ended_at),
                     clip(str(note), 44)])
    table = tabulate(rows, headers=["step", "uses", "status", "time", "note"])
    return "\n".join([*head, "", table])


def runs_table(runs: list[RunSummary | DamagedRun]) -> str:
    rows: list[list[Any]] = []
    for r in runs:
        if isinstance(r, DamagedRun):
            rows.append([clip(r.run_id, 44), "-", r.status.upper(), "-", clip(r.error, 30)])
            continue
        rows.append([clip(r.run_id, 44), f"{r.source}→{r.target}", r.status,
                     f"{r.steps_done}/{r.steps_total}", clip(r.current_step or "", 30)])
    if not rows:
        return "no runs yet"
    return str(tabulate(rows, headers=["run", "flow", "status", "steps", "at step"]))
