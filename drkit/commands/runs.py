"""``drkit runs``: list, show, resume and roll back runs."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from drkit.commands.common import ClickPrompt, emit_json, output_option, say, settings_from
from drkit.commands.failover import approval_method, finish
from drkit.dns.flip import RecordDecision
from drkit.errors import EXIT_FAILED, EXIT_OK, EXIT_UNSAFE, UnsafeError, UsageError
from drkit.offsets.render import plan_table
from drkit.runbook.engine import now_iso
from drkit.runbook.liveness import liveness, summary_json
from drkit.runbook.lock import RunLock
from drkit.runbook.render import run_table, runs_table
from drkit.runbook.rollback import (
    GroupDecision,
    RollbackPlan,
    RollbackResult,
    apply_rollback,
    left_alone_lines,
    plan_rollback,
    snapshot_of,
)
from drkit.runbook.rollback import plan_table as plan_rollback_table
from drkit.runbook.session import Session, who_am_i
from drkit.runbook.steps.common import cluster_for, stored_plan
from drkit.textsafe import safe


@click.group()
def runs() -> None:
    """Run history: list, show, resume and roll back failover runs."""


def _session(ctx: click.Context) -> Session:
    return Session.open(settings_from(ctx, None), say, ClickPrompt())


@runs.command("list")
@output_option("table", "json")
@click.pass_context
def list_cmd(ctx: click.Context, /, output: str) -> None:
    """All runs, newest first (damaged journals are listed, not hidden)."""
    session = _session(ctx)
    found = session.journal.list_runs()
    live = liveness(session.settings.state_dir, found)  # killed runs show as interrupted
    if output == "json":
        emit_json([summary_json(r, live) for r in found])
    else:
        click.echo(runs_table(found, live))


@runs.command("show")
@click.argument("run_id")
@output_option("table", "json")
@click.pass_context
def show_cmd(ctx: click.Context, /, run_id: str, output: str) -> None:
    """Steps, timings, outputs, plan and who approved, for one run."""
    session = _session(ctx)
    run = session.journal.load(run_id, read_only=True)
    if output == "json":
        emit_json({"run": run.to_dict(), "audit": session.audit.read(run_id)})
        return
    click.echo(run_table(run, with_runbook=True))
    plan = stored_plan(run)
    if plan is not None:
        click.echo("")
        click.echo(plan_table(plan, detail=True))


@runs.command("resume")
@click.argument("run_id")
@click.option("--yes", "-y", is_flag=True, envvar="DRKIT_APPROVE", help="Approve without asking.")
@click.option("--force-unlock", is_flag=True, help="Take over a lock left by a dead run.")
@click.option("--trust-journal", is_flag=True,
              help="Accept a journal written before journals were signed.")
@output_option("table", "json")
@click.pass_context
def resume_cmd(ctx: click.Context, /, run_id: str, yes: bool, force_unlock: bool,
               trust_journal: bool, output: str) -> None:
    """Finish an interrupted run (same as `drkit failover --resume RUN_ID`; a drill is
    finished by `drkit drill --resume RUN_ID`, which prints its report and verdict)."""
    session = _session(ctx)
    if session.journal.load(run_id, read_only=True, trust_unsigned=trust_journal).kind == "drill":
        raise UsageError(f"run {run_id} is a drill: finish it with `drkit drill --resume "
                         f"{run_id}`, which prints its report and exits with its verdict")
    run = session.resume(run_id, approve=approval_method(yes),
                         interactive=sys.stdin.isatty() and output == "table",
                         force_unlock=force_unlock, trust_journal=trust_journal)
    finish(run, output)


@runs.command("rollback")
@click.argument("run_id")
@click.option("--yes", "-y", is_flag=True, envvar="DRKIT_APPROVE", help="Do not ask.")
@click.option("--dry-run", is_flag=True,
              help="Show what would be restored and left alone; change nothing.")
@click.option("--force", is_flag=True,
              help="Roll back although a later run touched the same groups or DNS records "
                   "(what that run set is still left alone).")
@click.option("--force-unlock", is_flag=True, help="Take over a lock left by a dead run.")
@click.option("--trust-journal", is_flag=True,
              help="Accept a journal written before journals were signed.")
@output_option("table", "json")
@click.pass_context
def rollback_cmd(ctx: click.Context, /, run_id: str, yes: bool, dry_run: bool, force: bool,
                 force_unlock: bool, trust_journal: bool, output: str) -> None:
    """Put back the offsets and DNS values a run found, where they are still exactly what the
    run set (compare-and-swap); anything changed since is left alone and listed."""
    session = _session(ctx)
    settings = session.settings
    run = session.journal.load(run_id, trust_unsigned=trust_journal)
    target = cluster_for(settings, run.target) if snapshot_of(run) else None
    plan = plan_rollback(run, settings, session.journal, target)
    if dry_run:
        if output == "json":
            emit_json({"dry_run": True, "run_id": run_id, "changes": plan.changes(),
                       "groups": [_group_json(g) for g in plan.groups],
                       "dns": [_record_json(d) for d in plan.records],
                       "later_runs": [r.run_id for r in plan.conflicts]})
        else:
            click.echo(plan_rollback_table(plan))
            click.echo("dry run: nothing was changed")
        sys.exit(EXIT_OK)
    if plan.conflicts and not force:
        names = ", ".join(f"{r.run_id} ({r.status})" for r in plan.conflicts)
        raise UnsafeError(
            f"run {run_id}: later run {names} failed over the same groups or DNS records on "
            f"{run.target}; rolling back {run_id} would undo it: roll that run back first, or "
            "pass --force to restore only what is still exactly as this run left it")
    if not yes and plan.changes():
        if not sys.stdin.isatty():
            raise UsageError("no terminal to confirm on: pass --yes to roll back")
        click.echo(plan_rollback_table(plan), err=True)
        click.confirm(f"Roll back run {run_id} on {run.target} as shown?", abort=True, err=True)
    who, _host = who_am_i()
    lock = RunLock(settings.state_dir, f"{run.source}->{run.target}", run.run_id, who,
                   os.getpid())
    lock.acquire(force_unlock=force_unlock, allow_run_id=run.run_id)
    try:
        plan = plan_rollback(run, settings, session.journal, target)  # again, under the lock
        result = apply_rollback(plan, run, settings, target) if plan.changes() else None
        noop = result is None
        if result is None:
            result = apply_rollback(plan, run, settings, None)  # nothing to change: lists only
        result.forced = force
        record: dict[str, Any] = {"who": who, "at": now_iso(),
                                  "changed": result.changed_anything(), **result.to_dict()}
        previous = list(run.rollbacks)
        if not (noop and previous):
            run.rollbacks.append(record)
            session.journal.save(run)
        session.audit.append(run_id, "rolled-back",
                             **{k: v for k, v in record.items() if k != "at"})
    finally:
        lock.release()
    data: dict[str, Any] = {"run_id": run_id, "noop": noop, **record}
    if output == "json":
        emit_json(data)
    else:
        _echo_result(run_id, run.target, plan, result, noop, previous)
    sys.exit(EXIT_UNSAFE if result.refused else EXIT_FAILED if result.failed else EXIT_OK)


def _group_json(g: GroupDecision) -> dict[str, Any]:
    return {"group": g.group, "action": g.action,
            "partitions": [{"topic": p.tp.topic, "partition": p.tp.partition, "now": p.now,
                            "run_wrote": p.written, "restore_to": p.restore_to,
                            "action": p.action, "why": p.why} for p in g.partitions]}


def _record_json(d: RecordDecision) -> dict[str, Any]:
    return {"name": d.name, "action": d.action, "why": d.why,
            "now": list(d.now.values) if d.now else None,
            "restore_to": list(d.before.values) if d.before else None}


def _echo_result(run_id: str, target: str, plan: RollbackPlan, result: RollbackResult,
                 noop: bool, previous: list[dict[str, Any]]) -> None:
    if noop:
        when = (f" (rolled back at {previous[-1].get('at')} by {previous[-1].get('who')})"
                if previous else "")
        click.echo(f"Rollback of {run_id} on {target}: nothing to do: what it changed is "
                   f"already as before the run, or was changed since{when}")
    else:
        parts = sum(len(rows) for rows in result.restored_offsets.values())
        click.echo(f"Rollback of {run_id} on {target}: {parts} partition(s) restored in "
                   f"{len(result.restored)} group(s), {len(result.deleted)} group(s) deleted "
                   f"(had no offsets before), {len(result.left_alone)} partition(s) left alone, "
                   f"{len(result.refused)} refused, {len(result.failed)} failed")
    for g, why in sorted({**result.refused, **result.failed}.items()):
        click.echo(f"  {safe(g)}: {why}")
    for line in left_alone_lines(plan):
        click.echo(f"  {line}")
    for g, parts_left in sorted(result.left_over.items()):
        click.echo(f"  {safe(g)}: {safe(', '.join(parts_left))} had no offset before and still "
                   "has the run's; remove with kafka-consumer-groups --delete-offsets")
    for d in result.dns or [_record_json(d) for d in plan.records]:
        click.echo(f"  DNS {safe(d['name'])}: {safe(d['why'])}")
