"""``drkit drill history``: every drill kept in ``state_dir/drills/``, newest first (issue 10).

Registered under the ``drill`` group when ``drkit drill`` is one (``drkit drill history``), else
as ``drkit drill-history``; see :func:`register`.
"""

from __future__ import annotations

import click

from drkit.commands.common import emit_json, settings_from
from drkit.drill import render
from drkit.drill.history import load_history, read_report, report_path
from drkit.errors import UsageError


@click.command("history")
@click.option("--run", "run_id", default=None, metavar="RUN_ID",
              help="Show one drill's full report instead of the list.")
@click.option("--from", "source", default=None, metavar="ALIAS", help="Only drills from ALIAS.")
@click.option("--to", "target", default=None, metavar="ALIAS", help="Only drills to ALIAS.")
@click.option("--limit", type=click.IntRange(min=1), default=render.MAX_HISTORY_ROWS,
              show_default=True, help="Rows in the table (JSON lists all).")
@click.option("--output", "-o", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True,
              help="Output format (markdown only with --run).")
@click.pass_context
def history_cmd(ctx: click.Context, /, run_id: str | None, source: str | None,
                target: str | None, limit: int, output: str) -> None:
    """Drills over time, newest first: pass/fail, RPO, RTO, records seen again, unverified."""
    settings = settings_from(ctx, None)
    if run_id is not None:
        report = read_report(report_path(settings.state_dir, run_id))
        if output == "json":
            emit_json(render.to_json(report))
        elif output == "markdown":
            click.echo(render.markdown(report), nl=False)
        else:
            click.echo(render.table(report))
        return
    if output == "markdown":
        raise UsageError("--output markdown needs --run RUN_ID (one report); "
                         "use table or json for the list")
    reports, damaged = load_history(settings.state_dir)
    reports = [r for r in reports if (source is None or r.source == source)
               and (target is None or r.target == target)]
    if output == "json":
        emit_json(render.history_json(reports, damaged))
    else:
        click.echo(render.history_table(reports, damaged, limit=limit))


def register(cli: click.Group) -> None:
    """``drkit drill history`` if ``drill`` is a group, else ``drkit drill-history``."""
    drill = cli.commands.get("drill")
    if isinstance(drill, click.Group):
        drill.add_command(history_cmd)
    else:
        cli.add_command(history_cmd, name="drill-history")
