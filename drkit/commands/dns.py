"""``drkit dns show``: where each configured record points now."""

from __future__ import annotations

from typing import Any

import click
from tabulate import tabulate

from drkit.commands.common import emit_json, output_option, settings_from
from drkit.dns.flip import provider_for
from drkit.dns.settings import dns_settings
from drkit.errors import ConfigError
from drkit.render import clip


@click.group()
def dns() -> None:
    """DNS records drkit flips on failover."""


def records_now(settings: Any) -> list[dict[str, Any]]:
    """Each configured record as the provider holds it now, and which cluster it points at."""
    conf = dns_settings(settings)
    if conf is None:
        raise ConfigError("no DNS provider configured: add [dns] provider and [[dns.records]] "
                          "to drkit.toml (see docs/dns.md)")
    provider = provider_for(conf)
    rows = []
    for spec in conf.records:
        current = provider.get(spec.name, spec.type)
        rows.append({"name": spec.name, "type": spec.type,
                     "ttl": current.ttl if current else None,
                     "values": list(current.values) if current else [],
                     "points_at": spec.cluster_of(current), "provider": provider.describe()})
    return rows


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
