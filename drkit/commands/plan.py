"""``drkit plan`` (dry run) and ``drkit failover`` (plan → confirm → commit → summary)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from drkit import render
from drkit.apply import ApplyResult, apply_plan
from drkit.cluster import Cluster
from drkit.commands.common import (
    TtyProgress,
    emit_json,
    mm2_config_option,
    output_option,
    say,
    settings_from,
)
from drkit.errors import EXIT_FAILED, EXIT_OK, EXIT_UNSAFE, UnsafeError, UsageError
from drkit.planning import PlanInputs, gather_plan, now_ms
from drkit.translate import OffsetPlan, PlanOptions, SafetyThresholds

F = TypeVar("F", bound=Callable[..., Any])


def plan_options(f: F) -> F:
    opts = [
        click.option("--from", "source", required=True, metavar="CLUSTER",
                     help="The cluster consumers leave (MM2 source alias)."),
        click.option("--to", "target", required=True, metavar="CLUSTER",
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
               ) -> tuple[OffsetPlan, PlanInputs, SafetyThresholds, Cluster]:
    settings = settings_from(ctx, kw["mm2_config"])
    options = PlanOptions(group_regex=kw["group_regex"], topic_regex=kw["topic_regex"],
                          allow_rewind=kw["allow_rewind"], untranslated=kw["untranslated"],
                          now_ms=now_ms())
    thresholds = SafetyThresholds(
        max_clamped_partitions=kw["max_clamped"], max_untranslated_fraction=kw["max_untranslated"],
        max_checkpoint_age_s=kw["max_checkpoint_age"], min_groups=kw["min_groups"])
    plan, inputs = gather_plan(settings, kw["source"], kw["target"], options,
                               timeout_s=kw["timeout"],
                               progress=TtyProgress("reading checkpoints"),
                               say=None if quiet else say)
    target = Cluster(kw["target"], settings.cluster(kw["target"]).usable_client_config())
    return plan, inputs, thresholds, target


@click.command("plan")
@plan_options
@output_option("table", "json")
@click.pass_context
def plan_cmd(ctx: click.Context, /, output: str, **kw: Any) -> None:
    """Dry run: show where every group would resume on the standby. Commits nothing.

    Exit 0 when the plan is safe, 3 when a safety threshold is exceeded or a group is refused.
    """
    plan, inputs, thresholds, _ = _make_plan(ctx, kw, quiet=output == "json")
    violations = plan.safety_violations(thresholds)
    if output == "json":
        emit_json({**render.plan_json(plan, inputs), "unsafe": list(violations)})
    else:
        click.echo(render.plan_table(plan, inputs, detail=kw["detail"]))
        for v in violations:
            click.echo(f"UNSAFE: {v}", err=True)
    sys.exit(EXIT_UNSAFE if violations or plan.has_refusals else EXIT_OK)


@click.command("failover")
@plan_options
@click.option("--yes", "-y", is_flag=True, envvar="DRKIT_APPROVE",
              help="Do not ask for confirmation (automation).")
@output_option("table", "json")
@click.pass_context
def failover_cmd(ctx: click.Context, /, output: str, yes: bool, **kw: Any) -> None:
    """Translate and commit every group's offsets on the standby.

    Reads MM2's checkpoints on the standby (the source may be dead), shows the plan, asks for
    confirmation, commits only into empty groups and never rewinds unless --allow-rewind.
    Exit 0 done, 1 failed, 2 usage/config, 3 refused as unsafe (some groups may be committed).
    """
    plan, inputs, thresholds, target = _make_plan(ctx, kw, quiet=output == "json")
    if output == "table":
        click.echo(render.plan_table(plan, inputs, detail=kw["detail"]))
    plan.raise_if_unsafe(thresholds)
    commits = list(plan.commits())
    result: ApplyResult | None = None
    if commits:
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("no terminal to confirm on: review `drkit plan` and pass --yes "
                                 "(or set DRKIT_APPROVE=1)")
            click.confirm(f"Commit offsets for {len(commits)} groups on {kw['target']}?",
                          abort=True, err=True)
        result = apply_plan(target, plan, progress=TtyProgress("committing groups"))
    code = _exit_code(plan, result)
    if output == "json":
        emit_json({**render.plan_json(plan, inputs),
                   "apply": render.apply_json(result) if result else None, "exit_code": code})
    else:
        click.echo("")
        click.echo(render.apply_table(result) if result else "Nothing to commit.")
        _next_step(plan, result)
    sys.exit(code)


def _exit_code(plan: OffsetPlan, result: ApplyResult | None) -> int:
    if result is not None and result.by_outcome("failed"):
        return EXIT_FAILED
    if plan.has_refusals or (result is not None and result.by_outcome("refused")):
        return EXIT_UNSAFE
    return EXIT_OK


def _next_step(plan: OffsetPlan, result: ApplyResult | None) -> None:
    refused = [g.group for g in plan.refused_groups]
    if result is not None:
        refused += [r.group for r in result.by_outcome("refused")]
    if refused:
        click.echo(f"NEXT: stop the consumers of {', '.join(sorted(refused)[:5])}"
                   f"{' …' if len(refused) > 5 else ''} on {plan.target}, then run the same "
                   "command again (already committed groups are kept).", err=True)
    elif result is not None and result.by_outcome("failed"):
        click.echo("NEXT: check the standby cluster, then run the same command again.", err=True)
    elif result is not None:
        click.echo(f"NEXT: start consumers on {plan.target}; they resume from these offsets.\n"
                   "      Running clients do not re-resolve DNS: restart them.")


__all__ = ["UnsafeError", "failover_cmd", "plan_cmd"]
