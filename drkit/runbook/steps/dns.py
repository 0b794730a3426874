"""``dns-flip``: point every ``[[dns.records]]`` entry at the target cluster and verify it.

The value found before the change goes into the journal first (rollback and resume use it);
a record already at the new value is done, so resume never changes it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drkit.dns.flip import flip_record, provider_for
from drkit.dns.settings import dns_settings
from drkit.runbook.engine import RunContext
from drkit.runbook.spec import StepSchema, StepSpec
from drkit.runbook.state import StepState


class DnsFlipStep:
    schema = StepSchema("dns-flip", {}, "Point client DNS records at the target cluster.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        dns = dns_settings(ctx.settings)
        if dns is None:
            return {"changed": False,
                    "summary": "no DNS provider configured ([dns] in drkit.toml): nothing changed"}
        provider = provider_for(dns)
        records: dict[str, Any] = state.outputs.setdefault("records", {})
        state.outputs["provider"] = provider.describe()
        for rec in dns.records:
            flip_record(provider, dns, rec, ctx.source, ctx.target,
                        records.setdefault(rec.name, {}), ctx.save)
            ctx.save()
        changed = sum(1 for r in records.values() if r.get("status") != "already")
        return {"changed": changed > 0,
                "summary": f"{len(records)} record(s) point at {ctx.target} ({changed} changed), "
                           "verified on every authoritative server"}
