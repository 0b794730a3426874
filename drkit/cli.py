"""The ``drkit`` command: parse, call, render, pick the exit code. No logic lives here."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from drkit import __version__
from drkit.commands.common import AFTER_ABORT
from drkit.config.redaction import install_log_filter
from drkit.errors import EXIT_FAILED, EXIT_USAGE, DrkitError
from drkit.textsafe import safe

F = TypeVar("F", bound=Callable[..., Any])


def _after_abort(ctx: click.Context) -> None:
    after = (ctx.obj or {}).get(AFTER_ABORT)
    line = after() if callable(after) else None
    if line:
        click.echo(safe(line), err=True)


class DrkitGroup(click.Group):
    """Turns every DrkitError into one line on stderr and its exit code.

    Messages embed names read from clusters and journals: printed through ``safe`` so no
    control sequence in them reaches the terminal and a newline cannot add a line (issue 17).
    """

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """As click's, but a usage error (bad option value, conflicting flags) is one line too:
        ``drkit: error: <what> (see `<command> --help`)``, exit 2 — no usage block."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "drkit"
            message = exc.format_message().rstrip(".")
            click.echo(f"drkit: error: {safe(message)} (see `{where} --help`)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("drkit: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DrkitError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"drkit: error: {safe(str(exc))}", err=True)
            _after_abort(ctx)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("drkit: interrupted", err=True)
            _after_abort(ctx)
            sys.exit(130)


@click.group(cls=DrkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="drkit")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              envvar="DRKIT_CONFIG", help="drkit.toml (default: $DRKIT_CONFIG or ./drkit.toml).")
@click.option("--debug", is_flag=True, help="Log details and show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """Fail Kafka consumers and clients over between MirrorMaker 2 replicated clusters."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # Debug logs (botocore's request headers, librdkafka's) must not print credentials.
    install_log_filter(os.environ)


def _register() -> None:
    from drkit.commands.dns import dns
    from drkit.commands.drill import drill_cmd
    from drkit.commands.drill_history import register as register_drill_history
    from drkit.commands.failover import failover_cmd
    from drkit.commands.plan import plan_cmd
    from drkit.commands.runs import runs
    from drkit.commands.status import status_cmd
    from drkit.lab.cli import lab

    cli.add_command(lab)
    cli.add_command(plan_cmd)
    cli.add_command(failover_cmd)
    cli.add_command(runs)
    cli.add_command(dns)
    cli.add_command(status_cmd)
    cli.add_command(drill_cmd)
    register_drill_history(cli)  # last: it joins the `drill` group if there is one


_register()


def main() -> None:
    try:
        cli.main(prog_name="drkit", standalone_mode=True)
    except DrkitError as exc:  # raised outside a command (e.g. while parsing)
        click.echo(f"drkit: error: {safe(str(exc))}", err=True)
        sys.exit(exc.exit_code)


__all__ = ["AFTER_ABORT", "EXIT_FAILED", "EXIT_USAGE", "cli", "main"]
