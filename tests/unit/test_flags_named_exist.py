"""Every ``--flag`` a drkit message names exists on the CLI (issue 16 §4).

A refusal that names an override flag the CLI does not have (``--max-rewinds`` did) leaves the
operator stuck at the worst moment. This walks every string literal in drkit's source (f-string
parts too), finds each ``--flag`` in it, and checks the flag is an option of some command in
drkit's click tree (``drkit.cli`` with every group and subcommand, the lab's included).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click

import drkit
from drkit.cli import cli

ROOT = Path(drkit.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# Flags of other programs that drkit's messages and docstrings name, with that program.
FOREIGN: dict[str, str] = {
    "--clusters": "MirrorMaker 2's connect-mirror-maker.sh",
    "--delete-offsets": "Kafka's kafka-consumer-groups",
}


def cli_flags(command: click.Command = cli) -> set[str]:
    """Every long option of ``command`` and all its subcommands."""
    found: set[str] = {"--help"}  # help_option_names, on every command
    for param in command.params:
        if isinstance(param, click.Option):
            found.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found |= cli_flags(sub)
    return found


def named_flags() -> Iterator[tuple[str, str]]:
    """(flag, "file:line") for every --flag in a string literal of drkit's source."""
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for flag in FLAG.findall(node.value):
                    yield flag, f"{path.relative_to(ROOT.parent)}:{node.lineno}"


def test_the_walk_sees_the_cli_and_the_messages() -> None:
    flags = cli_flags()
    assert {"--allow-rewind", "--resume", "--force-unlock", "--max-clamped", "--dry-run",
            "--output", "--dir"} <= flags
    named = {flag for flag, _ in named_flags()}
    assert {"--allow-rewind", "--force-unlock", "--max-clamped", "--resume"} <= named


def test_every_flag_a_message_names_exists_on_the_cli() -> None:
    flags = cli_flags()
    missing = sorted({f"{where}: {flag}" for flag, where in named_flags()
                      if flag not in flags and flag not in FOREIGN})
    assert not missing, "messages name flags the CLI does not have:\n" + "\n".join(missing)


def test_a_made_up_flag_would_be_caught() -> None:
    assert FLAG.findall("pass --max-rewinds 3, or --allow-rewind") == [
        "--max-rewinds", "--allow-rewind"]
    assert "--max-rewinds" not in cli_flags()
