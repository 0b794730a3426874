"""``dns-flip``: placeholder until the DNS layer lands; says plainly that it changed nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drkit.runbook.engine import RunContext
from drkit.runbook.spec import StepSchema, StepSpec
from drkit.runbook.state import StepState


class DnsFlipStep:
    schema = StepSchema("dns-flip", {}, "Point client DNS records at the target cluster.")

    def run(self, ctx: RunContext, spec: StepSpec, state: StepState) -> Mapping[str, Any]:
        provider = ctx.settings.dns.get("provider")
        if not provider:
            note = "no DNS provider configured ([dns] in drkit.toml): nothing changed"
        else:
            note = (f"DNS provider {provider!r} is configured, but this drkit version has no "
                    "DNS providers yet: nothing changed")
        return {"changed": False, "summary": note}
