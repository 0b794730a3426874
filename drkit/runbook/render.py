"""Runs as text: the step table of a run, the list of runs. ≤100 columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tabulate import tabulate

from drkit.runbook.liveness import INTERRUPTED, resume_command, shown_status
from drkit.runbook.state import DamagedRun, RunState, RunSummary
from drkit.text import clip, safe


def _secs(a: str | None, b: str | None) -> str:
    if not a or not b:
        return "-"
    try:
        delta = datetime.fromisoformat(b.replace("Z", "+00:00")) - datetime.fromisoformat(
            a.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    return f"{delta.total_seconds():.1f} s"


def runbook_summary(name: str, path: str, digest: str, steps: Iterable[tuple[str, str]],
                    width: int = 100) -> str:
    """What runs, or ran: the runbook's file, its sha-256 digest and every step (id and type).

    The one text for both the approval prompt (from the loaded runbook) and ``drkit runs show``
    (from the journal), so the operator can compare them, and the digest with ``sha256sum``.
    Every part is shown through ``safe`` (a path or step id may hold control characters); the
    step list wraps at ``width`` columns without splitting an entry.
    """
    lines = [f"Runbook {safe(name)}: {safe(path)}", f"  sha-256 {safe(digest)}"]
    entries = [f"{safe(step_id)} ({safe(uses)})" for step_id, uses in steps] or ["(none)"]
    line = "  steps: " + entries[0]
    for entry in entries[1:]:
        if len(line) + len(", ") + len(entry) + len(",") > width:  # room for a wrap's comma
            lines.append(line + ",")
            line = "         " + entry
        else:
            line += ", " + entry
    lines.append(line)
    return "\n".join(lines)


def run_table(run: RunState, with_runbook: bool = False) -> str:
    """A run's header and step table; ``with_runbook`` adds the runbook's path, digest and
    steps as the journal recorded them (``drkit runs show``)."""
    # Everything here is read from the journal: shown through safe/clip (issue 17 §4).
    head = [f"Run {safe(run.run_id)}", f"  {safe(run.kind)} {safe(run.source)} → "
            f"{safe(run.target)}, runbook {safe(run.runbook)}, by {safe(run.who)}, status "
            f"{safe(run.status.upper())}"]
    for a in run.approvals:
        head.append(safe(f"  approved by {a.get('who')} ({a.get('method')}) at {a.get('at')}, "
                         f"plan {str(a.get('plan_digest'))[:12]}"))
    for r in run.rollbacks:
        head.append(safe(f"  rolled back by {r.get('who')} at {r.get('at')}: "
                         f"{len(r.get('restored') or [])} group(s) restored, "
                         f"{len(r.get('deleted') or [])} deleted, "
                         f"{len(r.get('left_alone') or [])} partition(s) left alone"))
    rows = []
    for s in run.steps:
        note = s.error or s.outputs.get("summary") or ""
        rows.append([clip(s.id, 18), clip(s.uses, 14), safe(s.status),
                     _secs(s.started_at, s.ended_at), clip(str(note), 44)])
    table = tabulate(rows, headers=["step", "uses", "status", "time", "note"])
    if with_runbook:
        head.append(runbook_summary(run.runbook, run.runbook_path, run.runbook_digest,
                                    ((s.id, s.uses) for s in run.steps)))
    return "\n".join([*head, "", table])


def runs_table(runs: list[RunSummary | DamagedRun],
               live: Mapping[str, bool | None] | None = None) -> str:
    """The list of runs; ``live`` (run id → a live process holds its lock, from
    :func:`drkit.runbook.liveness.liveness`) turns a ``running`` run nobody runs into
    ``interrupted``, followed by the command that resumes it."""
    rows: list[list[Any]] = []
    resumable: list[str] = []
    # The run id is the operator's handle (copied into resume/rollback): never clipped, within
    # reason; the last column gets what is left of the 100.
    for r in runs:
        if isinstance(r, DamagedRun):
            rows.append([clip(r.run_id, 60), "-", safe(r.status.upper()), r.error])
            continue
        status = shown_status(r, live or {})
        if status == INTERRUPTED:
            resumable.append(f"  {safe(resume_command(r.kind, r.run_id))}")
        rows.append([clip(r.run_id, 60), clip(f"{r.source}→{r.target}", 16), safe(status),
                     f"{r.steps_done}/{r.steps_total} {r.current_step or ''}".rstrip()])
    if not rows:
        return "no runs yet"
    headers = ["run", "flow", "status", "at step"]

    def render(room: int) -> str:  # the last column (raw text) clipped, hence made safe
        return str(tabulate([[*row[:-1], clip(row[-1], room)] for row in rows],
                            headers=headers, disable_numparse=True))

    table = render(60)
    over = max(len(line) for line in table.splitlines()) - 100
    if over > 0:  # the last column gives way
        table = render(max(8, max(len(clip(row[-1], 60)) for row in rows) - over))
    if not resumable:
        return table
    tail = ["", "Interrupted (no live drkit process holds their lock); resume with:",
            *resumable[:10]]
    if len(resumable) > 10:
        tail.append(f"  … and {len(resumable) - 10} more (--output json lists all)")
    return "\n".join([table, *tail])
