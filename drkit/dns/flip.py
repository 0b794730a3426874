"""Flip every configured record from the source cluster's value to the target's, and back.

Shared by the ``dns-flip`` runbook step and ``drkit runs rollback``. Idempotent: a record that
already holds the new value counts as done, so a resumed run never changes a record twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drkit.dns.base import DnsConflict, Provider, RecordSet, show_records
from drkit.dns.registry import load_provider
from drkit.dns.settings import DnsSettings, RecordSpec, dns_settings
from drkit.dns.verify import authoritative_servers, verify
from drkit.errors import ConfigError
from drkit.failpoints import failpoint

Save = Callable[[], None]


def provider_for(dns: DnsSettings) -> Provider:
    return load_provider(dns.provider, dns.provider_config)


def servers_for(dns: DnsSettings, provider: Provider, zone: str | None) -> list[tuple[str, int]]:
    """[dns] nameservers, else what the provider knows, else the zone's NS records."""
    if dns.nameservers:
        return list(dns.nameservers)
    known = provider.nameservers(zone or "")
    if known or not zone:
        return known
    return authoritative_servers(zone)


def flip_record(provider: Provider, dns: DnsSettings, spec: RecordSpec, source: str,
                target: str, state: dict[str, Any], save: Save) -> dict[str, Any]:
    """Flip one record; ``state`` (journaled) keeps the value found before the first change."""
    new = spec.for_cluster(target)
    if "before" not in state:
        current = provider.get(spec.name, spec.type)
        state["before"] = current.to_dict() if current else None
        state["after"] = new.to_dict()
        save()  # the old value is on disk before anything changes (rollback needs it)
    before = RecordSet.from_dict(state["before"]) if state["before"] else None
    current = provider.get(spec.name, spec.type)
    if new.same_values(current):
        state.setdefault("status", "already")
    else:
        expected = spec.for_cluster(source)
        if current is not None and not expected.same_values(current):
            raise DnsConflict(
                f"{spec.name} {spec.type} is {', '.join(current.values)}, neither {source}'s "
                f"{', '.join(expected.values)} nor {target}'s {', '.join(new.values)}: someone "
                "changed it; check, fix [[dns.records]] or the record, then resume")
        change = provider.change(current, new)
        state["status"], state["change_id"] = change.status, change.change_id
        state["changed_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        save()
        failpoint("dns-changed")  # crash tests: changed, not yet verified
        provider.wait(change, dns.verify_timeout_s)
    zone = str(provider.config.get("zone") or "") or None
    checked = verify(new, servers_for(dns, provider, zone), dns.verify_timeout_s, old=before,
                     flipped_at=_parse_time(state.get("changed_at")),
                     resolvers=list(dns.resolvers))
    state["verified"] = checked.to_dict()
    return state


@dataclass(frozen=True)
class RecordDecision:
    """What rolling back one record would do: ``action`` is "restore" (to ``before``),
    "already" (it holds ``before``) or "left alone" (``why`` says what changed it since)."""

    name: str
    now: RecordSet | None
    before: RecordSet | None
    after: RecordSet | None
    action: str
    why: str


def decide_record(name: str, before: RecordSet | None, after: RecordSet | None,
                  now: RecordSet | None, run_id: str, later_run: str | None = None
                  ) -> RecordDecision:
    """Compare-and-swap for one record (pure): restore ``before`` only where the record still
    holds exactly ``after``, the value run ``run_id`` set; anything else is left alone."""
    def decided(action: str, why: str) -> RecordDecision:
        return RecordDecision(name, now, before, after, action, why)

    if before is None:
        return decided("left alone", "did not exist before the run; left as it is")
    if before.same_values(now):
        return decided("already", f"already {', '.join(before.values)}")
    if after is None or not after.same_values(now):
        return decided("left alone", f"changed since run {run_id}; left alone (now "
                       f"{show_records(now)}, the run set "
                       f"{show_records(after)})")
    if later_run:
        return decided("left alone", f"run {later_run} also set it later; left alone")
    return decided("restore", f"restore to {', '.join(before.values)}")


def restore_record(provider: Provider, spec: RecordSpec, state: dict[str, Any],
                   run_id: str = "-") -> str:
    """:func:`rollback_record`, as one line."""
    return f"{spec.name}: {rollback_record(provider, spec, state, run_id).why}"


def rollback_record(provider: Provider, spec: RecordSpec, state: dict[str, Any],
                    run_id: str = "-", later_run: str | None = None,
                    dry_run: bool = False) -> RecordDecision:
    """Put back the value a run found before its flip, only if the record still holds the
    value the run set (compare-and-swap; the provider's change is itself conditional)."""
    before = RecordSet.from_dict(state["before"]) if state.get("before") else None
    after = RecordSet.from_dict(state["after"]) if state.get("after") else None
    decision = decide_record(spec.name, before, after, provider.get(spec.name, spec.type),
                             run_id, later_run)
    if decision.action == "restore" and not dry_run and before is not None:
        provider.wait(provider.change(decision.now, before), 300)
        return RecordDecision(spec.name, decision.now, before, after, "restored",
                              f"restored to {', '.join(before.values)}")
    return decision


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


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
