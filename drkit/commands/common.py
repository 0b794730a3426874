"""Options and helpers shared by commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from drkit.config import Settings, load_settings
from drkit.config.loader import parse_topic_names
from drkit.text import guard, safe

F = TypeVar("F", bound=Callable[..., Any])


_TOPIC_NAMES = "drkit.topic_names"
#: ``ctx.obj`` key: a command that started a run puts a callable here returning the line that
#: ends a failed or interrupted run's output (run id, resume and rollback commands), or None;
#: the CLI prints it after the error (drkit.cli).
AFTER_ABORT = "after_abort"


def settings_from(ctx: click.Context, mm2_config: Path | None) -> Settings:
    obj = ctx.find_root().obj or {}
    names = parse_topic_names(ctx.meta.get(_TOPIC_NAMES, ()))
    return load_settings(obj.get("config_path"), mm2_config=mm2_config,
                         topic_overrides=names or None)


def _remember_topic_names(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
    ctx.meta[_TOPIC_NAMES] = tuple(value or ())


def mm2_config_option(f: F) -> F:
    """``--mm2-config`` and, for custom replication policies, ``--topic-name KEY=NAME``."""
    f = click.option(
        "--topic-name", multiple=True, metavar="KEY=NAME", expose_value=False,
        callback=_remember_topic_names,
        help="Internal topic name for a custom replication.policy.class, as in drkit.toml's "
             "[mm2.topics]: heartbeats=NAME, checkpoints.<alias>=NAME, "
             "offset-syncs.<alias>=NAME (repeatable; wins over drkit.toml).")(f)
    return click.option("--mm2-config", type=click.Path(path_type=Path, dir_okay=False),
                        default=None, help="MM2 properties file (instead of drkit.toml's).")(f)


def output_option(*choices: str) -> Callable[[F], F]:
    return click.option("--output", "-o", type=click.Choice(list(choices)), default=choices[0],
                        show_default=True, help="Output format.")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


class ClickPrompt:
    """The engine's :class:`~drkit.runbook.engine.Prompt` on the terminal, through click."""

    def show(self, text: str) -> None:
        # Rendered text (the plan table is safe already): only raw controls are escaped.
        click.echo(guard(text), err=True)

    def confirm(self, question: str) -> bool:
        return bool(click.confirm(safe(question), default=False, err=True))


def say(msg: str) -> None:
    """Progress for humans on stderr, so stdout stays clean for --output json. Messages may
    name groups and topics: shown through ``safe`` (one line, no control sequence)."""
    click.echo(f"  … {safe(msg)}", err=True)


class TtyProgress:
    """A one-line progress indicator, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        pct = min(100, done * 100 // total)
        if pct != self.last:
            self.last = pct
            sys.stderr.write(f"\r  {self.label}: {pct:3d}% ({done:,}/{total:,} records)")
            if pct >= 100:
                sys.stderr.write("\n")
            sys.stderr.flush()
