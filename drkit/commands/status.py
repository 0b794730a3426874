"""``drkit status``: the on-call check, with Nagios exit codes (0 OK … 3 UNKNOWN)."""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from drkit.commands.common import mm2_config_option, settings_from
from drkit.config import Flow, Settings
from drkit.errors import ConfigError, DrkitError
from drkit.status.model import LEVEL_NAMES, UNKNOWN, Thresholds

LIMITS = (  # flag name, Thresholds field, help
    ("warn-heartbeat-age", "heartbeat_age_warn", "MM2 heartbeat age (s) for WARNING"),
    ("crit-heartbeat-age", "heartbeat_age_crit", "MM2 heartbeat age (s) for CRITICAL"),
    ("warn-checkpoint-age", "checkpoint_age_warn", "age (s) of a busy group's checkpoint: WARN"),
    ("crit-checkpoint-age", "checkpoint_age_crit", "age (s) of a busy group's checkpoint: CRIT"),
    ("warn-lag", "lag_seconds_warn", "replication lag (s) for WARNING"),
    ("crit-lag", "lag_seconds_crit", "replication lag (s) for CRITICAL"),
    ("warn-lag-messages", "lag_messages_warn", "replication lag (records) for WARNING"),
    ("crit-lag-messages", "lag_messages_crit", "replication lag (records) for CRITICAL"),
    ("warn-redeliveries", "redeliveries_warn", "a group's expected re-deliveries for WARNING"),
)


def thresholds(settings: Settings, flags: dict[str, Any]) -> Thresholds:
    """drkit.toml [status] first, flags over it; unknown keys are config errors."""
    known = {f.name for f in fields(Thresholds)}
    table = dict(settings.thresholds)
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"[status] in drkit.toml: unknown key {unknown[0]!r}; allowed: "
                          f"{', '.join(sorted(known))}")
    for key, value in table.items():
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)
                                  or value < 0):
            raise ConfigError(f"[status] {key} in drkit.toml must be a number ≥ 0")
    values = {**table, **{k: v for k, v in flags.items() if v is not None}}
    return Thresholds(**values)


def _flows(settings: Settings, flow: str | None) -> list[Flow]:
    if flow:
        src, sep, tgt = flow.partition("->")
        if not sep:
            raise ConfigError(f"--flow {flow!r}: write SOURCE->TARGET, e.g. primary->backup")
        return [settings.flow(src, tgt)]
    enabled = [f for f in settings.flows.values() if f.enabled]
    if not enabled:
        raise ConfigError(f"no MM2 flow is enabled in {settings.mm2_config_path}")
    # A flow with a configuration problem (its own or one of its clusters') cannot be checked;
    # the others can: its problems become notes (Settings.notes_for) unless no flow is left.
    usable = []
    for f in enabled:
        try:
            usable.append(settings.flow(f.source, f.target))
        except ConfigError:
            if len(enabled) == 1:
                raise
    if not usable:
        settings.flow(enabled[0].source, enabled[0].target)  # raises its problem
    return sorted(usable, key=lambda f: f.name)


def _limit_options(f: Any) -> Any:
    for flag, name, text in reversed(LIMITS):
        f = click.option(f"--{flag}", name, type=click.FloatRange(min=0), default=None,
                         help=text)(f)
    return f


@click.command("status")
@click.option("--flow", metavar="SOURCE->TARGET", help="Only this MM2 flow (default: all).")
@click.option("--output", "-o", type=click.Choice(["table", "json", "prometheus"]),
              default="table", show_default=True)
@click.option("--group", "group_regex", metavar="REGEX", help="Only groups matching.")
@click.option("--timeout", type=click.FloatRange(min=1), default=10.0, show_default=True,
              metavar="SECONDS", help="Bound for every network call.")
@mm2_config_option
@_limit_options
@click.pass_context
def status_cmd(ctx: click.Context, /, flow: str | None, output: str, group_regex: str | None,
               timeout: float, mm2_config: Path | None, **limits: Any) -> None:
    """Is a failover possible right now? MM2 health, lag, group readiness, DNS, last runs.

    Exit codes as a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Thresholds come
    from the flags or the [status] table of drkit.toml.
    """
    import drkit.status.render as render
    from drkit.status.collect import collect
    from drkit.status.evaluate import evaluate, overall

    try:
        settings = settings_from(ctx, mm2_config)
        limits_ = thresholds(settings, limits)
        facts = collect(settings, _flows(settings, flow), timeout_s=timeout,
                        group_regex=group_regex)
    except DrkitError as exc:
        _unknown(output, str(exc))
        return
    checks = evaluate(facts, limits_)
    code = overall(checks)
    if output == "json":
        click.echo(json.dumps(render.to_json(facts, checks, code), indent=2))
    elif output == "prometheus":
        click.echo(render.to_prometheus(facts, checks, code), nl=False)
    else:
        click.echo(render.table(facts, checks))
    sys.exit(code)


def _unknown(output: str, message: str) -> None:
    """Nagios: anything that prevents the check itself is UNKNOWN (3), on one line."""
    if output == "json":
        click.echo(json.dumps({"schema_version": 1, "status": LEVEL_NAMES[UNKNOWN],
                               "exit_code": UNKNOWN, "error": message}, indent=2))
    elif output == "prometheus":
        click.echo("# HELP drkit_status Overall status: 0 OK, 1 WARNING, 2 CRITICAL, "
                   "3 UNKNOWN.\n# TYPE drkit_status gauge\ndrkit_status 3")
    else:
        click.echo(f"DRKIT UNKNOWN - {message}")
    sys.exit(UNKNOWN)
