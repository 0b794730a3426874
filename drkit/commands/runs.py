"""``drkit runs``: list, show, resume and roll back runs."""

from __future__ import annotations

import sys
from typing import Any

import click

from drkit.commands.common import ClickPrompt, emit_json, output_option, say, settings_from
from drkit.commands.failover import approval_method, finish
from drkit.errors import EXIT_OK, EXIT_UNSAFE, UsageError
from drkit.offsets.render import plan_table
from drkit.runbook.render import run_table, runs_table
from drkit.runbook.rollback import rollback
from drkit.runbook.session import Session
from drkit.runbook.steps.common import cluster_for, stored_plan


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
    found = _session(ctx).journal.list_runs()
    if output == "json":
        emit_json([r.to_dict() for r in found])
    else:
        click.echo(runs_table(found))


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
    click.echo(run_table(run))
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
    """Finish an interrupted run (same as `drkit failover --resume RUN_ID`)."""
    run = _session(ctx).resume(run_id, approve=approval_method(yes),
                               interactive=sys.stdin.isatty() and output == "table",
                               force_unlock=force_unlock, trust_journal=trust_journal)
    finish(run, output)


@runs.command("rollback")
@click.argument("run_id")
@click.option("--yes", "-y", is_flag=True, envvar="DRKIT_APPROVE", help="Do not ask.")
@click.option("--trust-journal", is_flag=True,
              help="Accept a journal written before journals were signed.")
@output_option("table", "json")
@click.pass_context
def rollback_cmd(ctx: click.Context, /, run_id: str, yes: bool, trust_journal: bool,
                 output: str) -> None:
    """Restore the standby offsets a run snapshotted before it committed (empty groups only)."""
    session = _session(ctx)
    run = session.journal.load(run_id, trust_unsigned=trust_journal)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("no terminal to confirm on: pass --yes to roll back")
        click.confirm(f"Restore the offsets on {run.target} from before run {run_id}?",
                      abort=True, err=True)
    result = rollback(run, cluster_for(session.settings, run.target), session.settings)
    session.audit.append(run_id, "rolled-back", who=run.who, **result.to_dict())
    data: dict[str, Any] = result.to_dict()
    if output == "json":
        emit_json(data)
    else:
        click.echo(f"Rollback of {run_id} on {run.target}: {len(result.restored)} groups "
                   f"restored, {len(result.deleted)} deleted (had no offsets before), "
                   f"{len(result.refused)} refused, {len(result.failed)} failed")
        for g, why in sorted({**result.refused, **result.failed}.items()):
            click.echo(f"  {g}: {why}")
        for line in result.dns:
            click.echo(f"  DNS {line}")
        for g, parts in sorted(result.left_over.items()):
            click.echo(f"  {g}: {', '.join(parts)} had no offset before and still has one; "
                       "remove with kafka-consumer-groups --delete-offsets")
    sys.exit(EXIT_UNSAFE if result.refused or result.failed else EXIT_OK)
