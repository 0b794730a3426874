"""``drkit drill``: rehearse a failover into shadow groups and prove it by content (issue 10)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from drkit.commands.common import AFTER_ABORT, ClickPrompt, emit_json, say, settings_from
from drkit.commands.plan import plan_options
from drkit.config.drill import drill_settings
from drkit.dns.settings import dns_settings
from drkit.drill.report import DrillReport
from drkit.errors import ConfigError, DrkitError, UnsafeError, UsageError
from drkit.offsets.options import plan_args
from drkit.runbook.liveness import resume_command
from drkit.runbook.session import Session, load_checked
from drkit.runbook.spec import Runbook
from drkit.runbook.state import RunState
from drkit.runbook.steps.drill import drill_record_spec
from drkit.text import safe


@click.group("drill", invoke_without_command=True)
@plan_options(required=False)
@click.option("--keep", is_flag=True, help="Keep the shadow groups (for inspection).")
@click.option("--allow-unverified", is_flag=True,
              help="Pass even if some partitions could not be verified by content.")
@click.option("--runbook", default="drill", show_default=True, metavar="NAME|FILE",
              help="Runbook name (runbook_dir in drkit.toml, then the shipped ones) or file.")
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Finish an interrupted drill.")
@click.option("--force-unlock", is_flag=True, help="Take over a lock left by a dead run.")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write the result as JUnit XML to FILE.")
@click.option("--prometheus-file", "prom_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write a Prometheus textfile (node_exporter) to FILE.")
@click.option("--output", "-o", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True, help="Output format.")
@click.pass_context
def drill_cmd(ctx: click.Context, /, output: str, resume_id: str | None, runbook: str,
              keep: bool, allow_unverified: bool, force_unlock: bool,
              junit_file: Path | None, prom_file: Path | None, **kw: Any) -> None:
    """Rehearse a failover without touching production groups.

    Reads the checkpoints and plans as `drkit failover` would, commits the plan into shadow
    groups ([drill] group_prefix, default drkit-drill.) on the standby, matches records on
    both clusters to prove nothing would be skipped and count what would be seen again,
    measures RPO and RTO, deletes the shadow groups (--keep keeps them) and saves the report
    under state_dir/drills/. `drkit drill history` lists past drills. Exit 0 passed,
    1 failed, 2 usage/config, 3 refused as unsafe.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from(ctx, kw.pop("mm2_config"))
    drill = drill_settings(settings)  # a bad [drill] table is exit 2 before anything runs
    dns = dns_settings(settings)
    if drill.dns_record and dns is not None:
        drill_record_spec(dns, drill.dns_record)  # never a production record: exit 2
    session = Session.open(settings, say, ClickPrompt())
    if resume_id:
        if kw["source"] or kw["target"]:
            raise UsageError("--resume takes the clusters from the drill's journal; "
                             "leave out --from/--to")
        given = ctx.get_parameter_source("runbook") is click.core.ParameterSource.COMMANDLINE
        after_abort(ctx, session, resume_id)
        run = session.resume(resume_id, approve=None, interactive=False,
                             force_unlock=force_unlock, runbook_arg=runbook if given else None)
        if run.kind != "drill":
            raise UsageError(f"run {resume_id} is a {run.kind}, not a drill; resume it with "
                             f"`{resume_command(run.kind, resume_id)}`")
    else:
        if not kw["source"] or not kw["target"]:
            raise UsageError("say which failover to rehearse: --from CLUSTER --to CLUSTER "
                             "(or --resume RUN_ID)")
        book = load_checked(settings, runbook)
        check_drill_runbook(book)
        args = plan_args(kw) | {"keep": keep, "allow_unverified": allow_unverified}
        run = session.new_run("drill", book, kw["source"], kw["target"], args)
        after_abort(ctx, session, run.run_id)
        run = session.start(run, book, approve=None, interactive=False,
                            force_unlock=force_unlock)
    report = report_of(run)
    finish(report, output, junit_file, prom_file, settings.state_dir)


# What a drill runbook may do: read, plan, shadow-commit, check, clean up. Never `commit` (the
# real groups) nor `dns-flip` (the real records).
DRILL_SAFE_STEPS = frozenset({"preflight", "neutralise-mm2", "translate", "shadow-commit",
                              "dns-check", "verify-content", "measure", "cleanup",
                              "drill-report", "exec"})


def check_drill_runbook(book: Runbook) -> None:
    unsafe = [f"{s.id} ({s.uses})" for s in book.steps if s.uses not in DRILL_SAFE_STEPS]
    if unsafe:
        raise UnsafeError(f"{book.path}: a drill runbook must not change production, but steps "
                          f"{', '.join(unsafe)} would; use the shipped drill runbook")
    if not any(s.uses == "drill-report" for s in book.steps):
        raise ConfigError(f"{book.path}: a drill runbook needs a 'drill-report' step")


def after_abort(ctx: click.Context, session: Session, run_id: str) -> None:
    """A drill that fails or is killed ends its output with the command that finishes it."""
    def line() -> str | None:
        try:
            run = session.journal.load(run_id, read_only=True)
        except DrkitError:
            return None
        if run.status == "succeeded":
            return None
        return (f"drill {run_id} did not finish: `{resume_command(run.kind, run_id)}` "
                "finishes it and deletes its shadow groups")

    obj = ctx.find_root().obj
    if isinstance(obj, dict):
        obj[AFTER_ABORT] = line


def report_of(run: RunState) -> DrillReport:
    for step in reversed(run.steps):
        if step.uses == "drill-report" and "report" in step.outputs:
            return DrillReport.from_dict(step.outputs["report"])
    raise DrkitError(f"run {run.run_id} has no drill report: its runbook has no succeeded "
                     "'drill-report' step")


def textfile_reports(report: DrillReport, state_dir: Path) -> list[DrillReport]:
    """What the Prometheus textfile is rendered from: the whole drill history (so a failed
    drill keeps the last passing one's drkit_drill_last_success_timestamp_seconds and the
    overdue alert keeps counting), with this drill's report in it even if its saved copy is
    missing."""
    from drkit.drill.history import load_reports

    reports = [r for r in load_reports(state_dir) if r.run_id != report.run_id]
    return [report, *reports]


def finish(report: DrillReport, output: str, junit_file: Path | None,
           prom_file: Path | None, state_dir: Path) -> None:
    from drkit.drill import render
    from drkit.drill.history import write_output_file

    if junit_file is not None:
        write_output_file(junit_file, render.junit([report]))
    if prom_file is not None:
        write_output_file(prom_file, render.to_prometheus(textfile_reports(report, state_dir)))
    if output == "json":
        emit_json(render.to_json(report))
    elif output == "markdown":
        click.echo(render.markdown(report), nl=False)
    else:
        click.echo(render.table(report))
    if not report.passed and output != "table":
        click.echo(f"drkit: drill {safe(report.run_id)} FAILED: {safe(report.failures[0])}",
                   err=True)
    sys.exit(report.exit_code)
