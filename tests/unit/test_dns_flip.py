"""The flip logic with an in-memory provider: CAS, idempotent resume, rollback, discovery."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from drkit.dns import flip as flip_mod
from drkit.dns.base import Change, DnsConflict, Provider, RecordSet
from drkit.dns.registry import load_provider
from drkit.dns.settings import parse_dns
from drkit.errors import ConfigError

RAW = {
    "provider": "memory",
    "records": [{"name": "kafka.example.test", "type": "CNAME", "ttl": 60,
                 "values": {"primary": "kafka-primary.example.test.",
                            "backup": "kafka-backup.example.test"}}],
    "memory": {"zone": "example.test."},
}


class Memory(Provider):
    name = "memory"

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.records: dict[tuple[str, str], RecordSet] = {}
        self.changes = 0

    def get(self, name: str, rtype: str) -> RecordSet | None:
        return self.records.get((RecordSet(name, rtype, 0, ()).name, rtype))

    def change(self, expected_old: RecordSet | None, new: RecordSet) -> Change:
        current = self.get(new.name, new.type)
        if new.same_values(current):
            return Change("already")
        if (expected_old is None) != (current is None) or (
                current is not None and not current.same_values(expected_old)):
            raise DnsConflict("changed meanwhile")
        self.records[(new.name, new.type)] = new
        self.changes += 1
        return Change("applied", "c1")

    def nameservers(self, zone: str) -> list[tuple[str, int]]:
        return [("127.0.0.1", 53)]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> tuple[Memory, Any]:
    provider = Memory(RAW["memory"])
    provider.records[("kafka.example.test.", "CNAME")] = RecordSet(
        "kafka.example.test", "CNAME", 60, ("kafka-primary.example.test",))
    monkeypatch.setattr(flip_mod, "verify", lambda new, *a, **k: type(
        "V", (), {"to_dict": lambda self: {"record": new.name}})())
    return provider, parse_dns(RAW, ("primary", "backup"))


def test_flip_records_the_old_value_first_and_is_idempotent(world: tuple[Memory, Any]) -> None:
    provider, dns = world
    spec = dns.records[0]
    saves: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    flip_mod.flip_record(provider, dns, spec, "primary", "backup", state,
                         lambda: saves.append(dict(state)))
    assert saves[0]["before"]["values"] == ["kafka-primary.example.test."]
    assert "status" not in saves[0]  # journaled before the change was made
    assert state["status"] == "applied" and provider.changes == 1
    assert spec.cluster_of(provider.get(spec.name, "CNAME")) == "backup"
    again: dict[str, Any] = dict(state)
    flip_mod.flip_record(provider, dns, spec, "primary", "backup", again, lambda: None)
    assert provider.changes == 1  # resume: nothing changed twice

    assert "restored" in flip_mod.restore_record(provider, spec, state)
    assert spec.cluster_of(provider.get(spec.name, "CNAME")) == "primary"


def test_flip_refuses_a_record_someone_else_changed(world: tuple[Memory, Any]) -> None:
    provider, dns = world
    provider.records[("kafka.example.test.", "CNAME")] = RecordSet(
        "kafka.example.test", "CNAME", 60, ("elsewhere.example.test",))
    with pytest.raises(DnsConflict, match=r"neither primary's .* nor backup's"):
        flip_mod.flip_record(provider, dns, dns.records[0], "primary", "backup", {}, lambda: None)
    assert provider.changes == 0


@pytest.mark.parametrize(("raw", "message"), [
    ({"provider": "x"}, "no \\[\\[dns.records\\]\\]"),
    ({**RAW, "recrods": []}, "unknown key 'recrods'"),
    ({**RAW, "records": [{"name": "a", "values": {"primary": "p"}}]}, "map each cluster"),
    ({**RAW, "records": [{"name": "a", "values": {"primary": "p", "dr": "q"}}]},
     "'dr', which is not a cluster"),
    ({**RAW, "records": [{"name": "a", "ttl": "60", "values": {"primary": "p", "backup": "q"}}]},
     "ttl must be"),
    ({**RAW, "records": [{"name": "a", "values": {"primary": ["p", "q"], "backup": "q"}}]},
     "exactly one value"),
])
def test_dns_settings_errors(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_dns(raw, ("primary", "backup"))


def test_third_party_provider_found_through_entry_points(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "drkit_cloudflare_demo.py").write_text(
        "from drkit.dns.base import Provider\n"
        "class CloudflareProvider(Provider):\n"
        "    def get(self, name, rtype):\n        return None\n"
        "    def change(self, old, new):\n        raise NotImplementedError\n")
    dist = tmp_path / "drkit_cloudflare_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: drkit-cloudflare-demo\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[drkit.dns_providers]\ncloudflare = drkit_cloudflare_demo:CloudflareProvider\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    provider = load_provider("cloudflare", {"zone": "example.com."})
    assert type(provider).__name__ == "CloudflareProvider" and provider.name == "cloudflare"
    with pytest.raises(ConfigError, match="'nope' is not installed; available: cloudflare"):
        load_provider("nope", {})
    assert "drkit_cloudflare_demo" in sys.modules
