"""``drkit plan`` (dry run) and ``drkit failover`` (plan → confirm → commit → summary)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from drkit import render
from drkit.commands.common import (
    TtyProgress,
    emit_json,
    mm2_config_option,
    output_option,
    say,
    settings_from,
)
from drkit.errors import EXIT_OK, EXIT_UNSAFE
from drkit.planning import PlanInputs, gather_plan, options_from_args
from drkit.translate import OffsetPlan, SafetyThresholds

F = TypeVar("F", bound=Callable[..., Any])


def plan_options(required: bool = True) -> Callable[[F], F]:
    """The options shared by `plan` and `failover` (which may take them from a journal)."""
    return lambda f: _plan_options(f, required)


def _plan_options(f: F, required: bool) -> F:
    opts = [
        click.option("--from", "source", required=required, metavar="CLUSTER",
                     help="The cluster consumers leave (MM2 source alias)."),
        click.option("--to", "target", required=required, metavar="CLUSTER",
                     help="The standby consumers move to (MM2 target alias)."),
        mm2_config_option,
        click.option("--group", "group_regex", metavar="REGEX", help="Only groups matching."),
        click.option("--topic", "topic_regex", metavar="REGEX",
                     help="Only standby topics matching (e.g. 'primary\\.orders.*')."),
        click.option("--allow-rewind", is_flag=True,
                     help="Move a standby group backwards when its checkpoint is lower."),
        click.option("--untranslated", type=click.Choice(["skip", "earliest", "latest"]),
                     default="skip", show_default=True,
                     help="What to commit for partitions without a checkpoint."),
        click.option("--max-clamped", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Refuse if more commits than this had to be clamped to the log."),
        click.option("--max-untranslated", type=click.FloatRange(0, 1), default=None,
                     help="Refuse if a larger fraction of partitions has no checkpoint."),
        click.option("--max-checkpoint-age", type=click.FloatRange(min=0), default=None,
                     metavar="SECONDS", help="Refuse if a checkpoint to commit is older."),
        click.option("--min-groups", type=click.IntRange(min=0), default=0,
                     help="Refuse if fewer groups have checkpoints (an empty topic is suspect)."),
        click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
                     metavar="SECONDS", help="Limit for reading MM2's internal topics."),
        click.option("--detail", is_flag=True, help="Also list every partition."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _make_plan(ctx: click.Context, kw: dict[str, Any], quiet: bool
               ) -> tuple[OffsetPlan, PlanInputs, SafetyThresholds]:
    settings = settings_from(ctx, kw["mm2_config"])
    options, thresholds = options_from_args(kw)
    plan, inputs = gather_plan(settings, kw["source"], kw["target"], options,
                               timeout_s=kw["timeout"],
                               progress=TtyProgress("reading checkpoints"),
                               say=None if quiet else say)
    return plan, inputs, thresholds


@click.command("plan")
@plan_options()
@output_option("table", "json")
@click.pass_context
def plan_cmd(ctx: click.Context, /, output: str, **kw: Any) -> None:
    """Dry run: show where every group would resume on the standby. Commits nothing.

    Exit 0 when the plan is safe, 3 when a safety threshold is exceeded or a group is refused.
    """
    plan, inputs, thresholds = _make_plan(ctx, kw, quiet=output == "json")
    violations = plan.safety_violations(thresholds)
    if output == "json":
        emit_json({**render.plan_json(plan, inputs), "unsafe": list(violations)})
    else:
        click.echo(render.plan_table(plan, inputs, detail=kw["detail"]))
        for v in violations:
            click.echo(f"UNSAFE: {v}", err=True)
    sys.exit(EXIT_UNSAFE if violations or plan.has_refusals else EXIT_OK)


__all__ = ["plan_cmd", "plan_options"]
