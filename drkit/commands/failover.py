"""``drkit failover``: run (or resume) the failover runbook, step by step, journaled."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click

from drkit.commands.common import (
    AFTER_ABORT,
    ClickPrompt,
    emit_json,
    output_option,
    say,
    settings_from,
)
from drkit.commands.plan import plan_options
from drkit.errors import EXIT_OK, EXIT_UNSAFE, DrkitError, UsageError
from drkit.offsets.options import plan_args
from drkit.offsets.plan import OffsetPlan
from drkit.offsets.render import plan_table
from drkit.runbook.engine import side_effect_started
from drkit.runbook.liveness import resume_command, rollback_command
from drkit.runbook.render import run_table
from drkit.runbook.session import Session, load_checked
from drkit.runbook.state import RunState
from drkit.runbook.steps.common import stored_plan
from drkit.text import clip, safe


def approval_method(yes: bool) -> str | None:
    import os

    if yes:
        return "--yes" if not os.environ.get("DRKIT_APPROVE") else "DRKIT_APPROVE"
    return None


@click.command("failover")
@plan_options(required=False)
@click.option("--runbook", default="failover", show_default=True, metavar="NAME|FILE",
              help="Runbook name (runbook_dir in drkit.toml, then the shipped ones) or file.")
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Finish an interrupted run.")
@click.option("--trust-journal", is_flag=True,
              help="With --resume: accept a journal written before journals were signed.")
@click.option("--planned", is_flag=True, help="A planned switchover (steps with when = planned).")
@click.option("--force-unlock", is_flag=True, help="Take over a lock left by a dead run.")
@click.option("--yes", "-y", is_flag=True, envvar="DRKIT_APPROVE",
              help="Approve without asking (automation); recorded in the journal.")
@output_option("table", "json")
@click.pass_context
def failover_cmd(ctx: click.Context, /, output: str, resume_id: str | None, runbook: str,
                 planned: bool, force_unlock: bool, yes: bool, trust_journal: bool,
                 **kw: Any) -> None:
    """Fail consumers over to the standby with the failover runbook.

    Steps (runbooks/failover.toml): preflight, neutralise-mm2, translate, approve, commit,
    dns-flip, verify. Every step is journaled under state_dir/runs; if the run is killed,
    `drkit failover --resume RUN_ID` finishes it, applying the same plan. Exit 0 done,
    1 failed, 2 usage/config, 3 refused as unsafe.
    """
    settings = settings_from(ctx, kw.pop("mm2_config"))
    session = Session.open(settings, say, ClickPrompt())
    interactive = sys.stdin.isatty() and output == "table"
    if resume_id:
        if kw["source"] or kw["target"]:
            raise UsageError("--resume takes the clusters from the run's journal; "
                             "leave out --from/--to")
        given = ctx.get_parameter_source("runbook") is click.core.ParameterSource.COMMANDLINE
        after_abort(ctx, session, resume_id)
        run = session.resume(resume_id, approve=approval_method(yes), interactive=interactive,
                             force_unlock=force_unlock, runbook_arg=runbook if given else None,
                             trust_journal=trust_journal)
    else:
        if not kw["source"] or not kw["target"]:
            raise UsageError("say which way to fail over: --from CLUSTER --to CLUSTER "
                             "(or --resume RUN_ID)")
        book = load_checked(settings, runbook)
        args = plan_args(kw) | {"planned": planned}
        run = session.new_run("failover", book, kw["source"], kw["target"], args)
        after_abort(ctx, session, run.run_id)
        run = session.start(run, book, approve=approval_method(yes), interactive=interactive,
                            force_unlock=force_unlock)
    finish(run, output)


def after_abort(ctx: click.Context, session: Session, run_id: str) -> None:
    """If the run fails or is interrupted, the CLI ends its output with :func:`abort_line`."""
    obj = ctx.find_root().obj
    if isinstance(obj, dict):
        obj[AFTER_ABORT] = lambda: abort_line(session, run_id)


def abort_line(session: Session, run_id: str) -> str | None:
    """The last line of a failed or interrupted run: its id and the exact commands that resume
    it and undo it; None if it has no journal (nothing was started) or cannot be resumed.

    A run that stopped before any side effect changed nothing and gave its lock back (the
    session's rule, :func:`~drkit.runbook.engine.side_effect_started`): there is nothing to
    undo, so the line says to fix what was reported (or pass the flag it names) and run the
    failover again, not to roll back."""
    try:
        run = session.journal.load(run_id, read_only=True)
    except DrkitError:
        return None
    if run.rollbacks or run.status == "succeeded":
        return None
    status = "interrupted" if run.status == "running" else run.status
    try:  # a runbook given as a file is not found again by its name: say --runbook FILE
        session.runbook_for_resume(run)
        from_file = ""
    except DrkitError:
        from_file = f" --runbook {shlex.quote(run.runbook_path)}"
    if not side_effect_started(run) and run.kind == "failover":
        named = "" if from_file or run.runbook == "failover" else (
            f" --runbook {shlex.quote(run.runbook)}")
        again = f"drkit failover --from {run.source} --to {run.target}{named or from_file}"
        return (f"run {run_id} {status}: nothing was changed and its lock is released "
                f"(nothing to roll back); fix what is reported above, or pass the override "
                f"flag it names, and run `{again}` again")
    resume = resume_command(run.kind, run_id) + from_file
    return (f"run {run_id} {status}: resume with `{resume}`; "
            f"undo what it did with `{rollback_command(run_id)}`")


def finish(run: RunState, output: str) -> None:
    plan = stored_plan(run)
    code = EXIT_UNSAFE if plan is not None and plan.has_refusals else EXIT_OK
    if output == "json":
        emit_json(run_json(run, plan, code))
    else:
        click.echo(run_table(run))
        if plan is not None:
            click.echo("")
            click.echo(plan_table(plan))
        if plan is not None and plan.has_refusals:
            names = ", ".join(clip(g.group, 40) for g in plan.refused_groups[:5])
            click.echo(f"\nNEXT: {names} had active members on {safe(run.target)} and were left "
                       f"alone; stop them there and fail those groups over again.", err=True)
        else:
            click.echo(f"\nNEXT: start consumers on {safe(run.target)}; they resume from the "
                       "committed offsets.\n      Running clients do not re-resolve DNS: "
                       "restart them.")
    sys.exit(code)


def run_json(run: RunState, plan: OffsetPlan | None, code: int) -> dict[str, Any]:
    """The run for automation: plan, inputs and per-group commit outcome at the top level."""
    translate = next((s.outputs for s in run.steps if s.uses == "translate"), {})
    commit = next((s.outputs for s in run.steps if s.uses == "commit"), {})
    groups = commit.get("groups") or {}
    return {
        "run_id": run.run_id, "status": run.status, "exit_code": code,
        "plan": plan.to_dict() if plan else None, "digest": translate.get("digest"),
        "stats": translate.get("stats"), "inputs": translate.get("inputs"),
        "apply": {"groups": [{"group": g, **r} for g, r in sorted(groups.items())]}
        if groups else None,
        "run": run.to_dict(),
    }
