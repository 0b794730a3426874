"""Is a run's process still alive? A journal says ``running`` until the run ends; a run killed
with SIGKILL never ends, so ``runs list`` derives ``interrupted`` from the run's lock instead
(issue 16 §4): the journal is never rewritten for it.

A run is *live* while a process holds its lock (``state_dir/locks``) and that process runs
(:func:`drkit.runbook.lock.holder_alive`: same host, same pid, same start time). No lock, a lock
held by another run, or a dead holder: nothing is running it, so it is interrupted and can be
resumed. A holder on another host cannot be checked: the run is shown as it was journaled.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from typing import Any

from drkit.runbook.lock import LockHolder, RunLock, holder_alive
from drkit.runbook.state import DamagedRun, RunSummary
from drkit.statedir import read_bytes

INTERRUPTED = "interrupted"


def resume_command(kind: str, run_id: str) -> str:
    """The command that finishes the run (as ``drkit status`` names it): a drill is finished
    by ``drkit drill --resume``, which also prints its report and exits with its verdict (the
    same line the drill prints when it stops); a failover by ``drkit failover --resume``."""
    if kind in ("failover", "drill"):
        return f"drkit {kind} --resume {run_id}"
    return f"drkit runs resume {run_id}"


def rollback_command(run_id: str) -> str:
    return f"drkit runs rollback {run_id}"


def lock_alive(state_dir: Any, run: RunSummary, host: str | None = None) -> bool | None:
    """True if a live process holds ``run``'s lock, False if none does, None if its holder is
    on another host (cannot be checked from here)."""
    lock = RunLock(state_dir, f"{run.source}->{run.target}", run.run_id, run.who)
    try:
        holder = LockHolder.from_json(read_bytes(lock.path))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return None  # unreadable lock: do not guess
    if holder.run_id != run.run_id:
        return False
    return holder_alive(holder, host or socket.gethostname())


def liveness(state_dir: Any, runs: Iterable[RunSummary | DamagedRun]) -> dict[str, bool | None]:
    """:func:`lock_alive` of every run the journal calls ``running`` (others are not asked)."""
    host = socket.gethostname()
    return {r.run_id: lock_alive(state_dir, r, host) for r in runs
            if isinstance(r, RunSummary) and r.status == "running"}


def shown_status(run: RunSummary, live: Mapping[str, bool | None]) -> str:
    """The journaled status, or ``interrupted`` for a ``running`` run nobody runs."""
    if run.status == "running" and live.get(run.run_id) is False:
        return INTERRUPTED
    return run.status


def summary_json(run: RunSummary | DamagedRun, live: Mapping[str, bool | None]
                 ) -> dict[str, Any]:
    """``runs list -o json``: the summary plus the derived ``live_status`` (and, for a run
    that can be resumed, ``resume_command``)."""
    data = run.to_dict()
    if isinstance(run, RunSummary):
        status = shown_status(run, live)
        data["live_status"] = status
        if status in (INTERRUPTED, "failed"):
            data["resume_command"] = resume_command(run.kind, run.run_id)
    return data
