"""``drkit dns show``: where each configured record points now."""

from __future__ import annotations

import click
from tabulate import tabulate

from drkit.commands.common import emit_json, output_option, settings_from
from drkit.dns.flip import records_now
from drkit.text import clip


@click.group()
def dns() -> None:
    """DNS records drkit flips on failover."""


@dns.command("show")
@output_option("table", "json")
@click.pass_context
def show(ctx: click.Context, /, output: str) -> None:
    """Print where each [[dns.records]] entry points now (asks the provider)."""
    rows = records_now(settings_from(ctx, None))
    if output == "json":
        emit_json(rows)
        return
    click.echo(tabulate(
        [[clip(r["name"], 30), r["type"], f"{r['ttl']} s" if r["ttl"] is not None else "-",
          clip(", ".join(r["values"]) or "(absent)", 34), r["points_at"] or "UNKNOWN"]
         for r in rows], headers=["record", "type", "ttl", "value", "points at"]))
