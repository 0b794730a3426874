"""``drkit plan`` (dry run) and ``drkit failover`` (plan → confirm → commit → summary)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from drkit import clock
from drkit.commands.common import (
    TtyProgress,
    emit_json,
    mm2_config_option,
    output_option,
    say,
    settings_from,
)
from drkit.errors import EXIT_OK, EXIT_UNSAFE
from drkit.mm2.client import MirrorTopics
from drkit.offsets.gather import judge_readiness, plan_from, read_plan_data
from drkit.offsets.inputs import PlanInputs
from drkit.offsets.options import PLAN_ARG_KEYS, PLAN_ARGS, options_from_args
from drkit.offsets.plan import POLICIES, OffsetPlan, SafetyThresholds
from drkit.offsets.readiness import Readiness
from drkit.offsets.render import plan_json, plan_table
from drkit.runbook.steps.preflight import failover_limits

F = TypeVar("F", bound=Callable[..., Any])


def plan_options(required: bool = True) -> Callable[[F], F]:
    """The options shared by `plan` and `failover` (which may take them from a journal)."""
    return lambda f: _plan_options(f, required)


# The click spelling of each plan option; which options exist and their defaults are
# drkit.offsets.options.PLAN_ARGS' (the journal and the runbook's translate step use the same list).
_FLAGS: dict[str, tuple[str, dict[str, Any]]] = {
    "group_regex": ("--group", {"metavar": "REGEX", "help": "Only groups matching."}),
    "topic_regex": ("--topic", {
        "metavar": "REGEX", "help": "Only standby topics matching (e.g. 'primary\\.orders.*')."}),
    "allow_rewind": ("--allow-rewind", {
        "is_flag": True, "help": "Move a standby group backwards when its checkpoint is lower."}),
    "untranslated": ("--untranslated", {
        "type": click.Choice(list(POLICIES)), "show_default": True,
        "help": "What to commit for partitions without a checkpoint."}),
    "max_clamped": ("--max-clamped", {
        "type": click.IntRange(min=0), "show_default": True,
        "help": "Refuse if more commits than this had to be clamped to the log."}),
    "max_untranslated": ("--max-untranslated", {
        "type": click.FloatRange(0, 1),
        "help": "Refuse if a larger fraction of partitions has no checkpoint."}),
    "max_checkpoint_age": ("--max-checkpoint-age", {
        "type": click.FloatRange(min=0), "metavar": "SECONDS",
        "help": "Refuse if a checkpoint to commit is older."}),
    "max_heartbeat_age": ("--max-heartbeat-age", {
        "type": click.FloatRange(min=0), "metavar": "SECONDS",
        "help": "With the source up: refuse if MM2's newest heartbeat is older."}),
    "min_groups": ("--min-groups", {
        "type": click.IntRange(min=0),
        "help": "Refuse if fewer groups have checkpoints (an empty topic is suspect)."}),
    "timeout": ("--timeout", {
        "type": click.FloatRange(min=1), "show_default": True, "metavar": "SECONDS",
        "help": "Limit for reading MM2's internal topics."}),
    "strict": ("--strict", {
        "is_flag": True,
        "help": "Fail on a malformed MM2 record instead of skipping and naming it."}),
}
if set(_FLAGS) != set(PLAN_ARG_KEYS):  # pragma: no cover - a programming error, caught by import
    raise AssertionError(f"plan options out of step: {sorted(set(_FLAGS) ^ set(PLAN_ARG_KEYS))}")


def _plan_options(f: F, required: bool) -> F:
    opts = [
        click.option("--from", "source", required=required, metavar="CLUSTER",
                     help="The cluster consumers leave (MM2 source alias)."),
        click.option("--to", "target", required=required, metavar="CLUSTER",
                     help="The standby consumers move to (MM2 target alias)."),
        mm2_config_option,
        *(click.option(_FLAGS[a.key][0], a.key, default=a.default, **_FLAGS[a.key][1])
          for a in PLAN_ARGS),
        click.option("--detail", is_flag=True, help="Also list every partition."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _make_plan(ctx: click.Context, kw: dict[str, Any], quiet: bool
               ) -> tuple[OffsetPlan, PlanInputs, SafetyThresholds, Readiness]:
    """Read once, judge readiness as the failover's preflight would (the failover runbook's
    preflight limits, overridden by --max-checkpoint-age / --max-heartbeat-age), and plan with
    checkpoint ages measured from the same moment as the failover's translate step: now with
    the source up, when replication stopped with it down."""
    settings = settings_from(ctx, kw["mm2_config"])
    moved = clock.override_note()  # DRKIT_NOW_MS: tests only, said whenever it is set
    if moved:
        say(moved)
    options, thresholds = options_from_args(kw)
    flow = settings.flow(kw["source"], kw["target"])
    mirror = MirrorTopics.for_flow(settings, flow)
    data = read_plan_data(settings, kw["source"], kw["target"], options,
                          timeout_s=kw["timeout"], progress=TtyProgress("reading checkpoints"),
                          say=None if quiet else say, flow=flow, mirror=mirror)
    limits = failover_limits(settings, {k: kw[k] for k in ("max_checkpoint_age",
                                                           "max_heartbeat_age")})
    readiness = judge_readiness(data, mirror, options.now_ms, limits,
                                timeout_s=min(30.0, kw["timeout"]), strict=options.strict)
    options = dataclasses.replace(options, now_ms=readiness.reference_ms)
    plan, inputs = plan_from(settings, kw["source"], kw["target"], options, data)
    return plan, inputs, thresholds, readiness


@click.command("plan")
@plan_options()
@output_option("table", "json")
@click.pass_context
def plan_cmd(ctx: click.Context, /, output: str, **kw: Any) -> None:
    """Dry run: show where every group would resume on the standby. Commits nothing.

    Also judges, with the failover runbook's preflight limits (and --max-checkpoint-age /
    --max-heartbeat-age), whether a failover now would be refused: the same verdict as
    `drkit status` and the failover's preflight. Exit 0 when the plan is safe (also when a
    failover now would be refused: the plan says why), 3 when a safety threshold is exceeded
    or a group is refused.
    """
    plan, inputs, thresholds, readiness = _make_plan(ctx, kw, quiet=output == "json")
    violations = plan.safety_violations(thresholds)
    if output == "json":
        emit_json({**plan_json(plan, inputs), "unsafe": list(violations),
                   "readiness": readiness.to_dict()})
    else:
        click.echo(plan_table(plan, inputs, detail=kw["detail"], readiness=readiness))
        for v in violations:
            click.echo(f"UNSAFE: {v}", err=True)
    sys.exit(EXIT_UNSAFE if violations or plan.has_refusals else EXIT_OK)


__all__ = ["plan_cmd", "plan_options"]
