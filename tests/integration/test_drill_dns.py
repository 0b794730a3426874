"""The drill's DNS on the lab's real BIND (issue 10 item 1): ``dns-check`` reads the production
records and changes nothing (a record already flipped, a TTL that differs: reported), and the
optional ``[drill] dns_record`` is really flipped to the target's value and restored by
compare-and-swap — also when the drill is killed right after the flip and resumed, and never
over a value someone else set. Records are read back with plain DNS queries, not the provider.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import pytest

from drkit.config import load_settings
from drkit.dns.base import RecordSet
from drkit.dns.flip import provider_for
from drkit.dns.settings import dns_settings
from drkit.lab.lab import Lab
from tests.helpers import drkit, end_offsets, wait_until
from tests.integration.test_drill import _groups_on, _idle_group, _mirrored_topic

DRILL = "drill.example.test."
PRIMARY, BACKUP, OTHER = (f"kafka-{c}.example.test." for c in ("primary", "backup", "other"))


def _dig(lab: Lab, name: str) -> tuple[list[str], int | None]:
    """(values, TTL) as BIND answers a plain query."""
    cfg = lab.state.dns
    assert cfg is not None
    q = dns.message.make_query(name, "CNAME")
    r = dns.query.tcp(q, cfg["server"], port=int(cfg["port"]), timeout=5)
    rrset = r.get_rrset(r.answer, q.question[0].name, q.question[0].rdclass,
                        q.question[0].rdtype)
    return (sorted(rd.to_text() for rd in rrset), rrset.ttl) if rrset else ([], None)


def _set(lab: Lab, name: str, value: str, ttl: int = 60) -> None:
    conf = dns_settings(load_settings(lab.config_path))
    assert conf is not None
    provider = provider_for(conf)
    current = provider.get(name, "CNAME")
    new = RecordSet(name, "CNAME", ttl, (value,))
    if new.same_values(current) and current is not None and current.ttl != ttl:
        # the provider changes values, not a TTL alone: step through another value
        provider.change(current, RecordSet(name, "CNAME", ttl, (OTHER,)))
        current = provider.get(name, "CNAME")
    if not new.same_values(current):
        provider.change(current, new)


@pytest.fixture
def dns_lab(lab: Lab) -> Iterator[Lab]:
    if not lab.state.dns:
        if os.environ.get("DRKIT_REQUIRE_BIND") == "1":
            raise AssertionError("the lab has no BIND although DRKIT_REQUIRE_BIND=1")
        pytest.skip("named is not installed: no DNS in the lab")
    _set(lab, "kafka.example.test.", PRIMARY)  # an earlier failover test may have moved it
    _set(lab, DRILL, PRIMARY)
    try:
        yield lab
    finally:
        _set(lab, "kafka.example.test.", PRIMARY)


@pytest.fixture(scope="module")
def world(lab: Lab) -> dict[str, str]:
    if not lab.state.dns:
        pytest.skip("named is not installed: no DNS in the lab")
    topic, remote = _mirrored_topic(lab, "dns")
    wait_until(lambda: sum(end_offsets(lab.bootstrap("backup"), remote).values()) == 900, 90,
               "900 records mirrored")
    return {"group": _idle_group(lab, topic, remote, 100), "remote": remote}


def _config(lab: Lab, record: str = DRILL) -> Path:
    """The lab's drkit.toml with a [drill] table, next to it (its paths are relative)."""
    path = lab.dir / f"drkit-drill-dns-{record.split('.')[0]}.toml"
    path.write_text(lab.config_path.read_text() + f'\n[drill]\ndns_record = "{record}"\n')
    return path


def _drill(config: Path, world: dict[str, str], *extra: str,
           env: dict[str, str] | None = None) -> Any:
    return drkit("drill", "--from", "primary", "--to", "backup", "--group", world["group"],
                 "--topic", world["remote"], *extra, config=config, env=env)


def test_drill_record_is_flipped_verified_and_restored(dns_lab: Lab,
                                                       world: dict[str, str]) -> None:
    res = _drill(_config(dns_lab), world, "-o", "json")
    assert res.returncode == 0, res.stderr + res.stdout
    report = json.loads(res.stdout)
    rec = report["dns"]["drill_record"]
    assert rec["before"]["values"] == [PRIMARY]
    assert rec["after"]["values"] == [BACKUP]
    assert rec["status"] == "applied"
    assert set(rec["verified"]["servers"].values()) == {"new"}  # BIND answered BACKUP
    assert rec["restore"]["action"] == "restored"
    assert _dig(dns_lab, DRILL)[0] == [PRIMARY]
    # The production record was read, never changed.
    (prod,) = report["dns"]["records"]
    assert prod["ok"] is True and prod["now"] == [PRIMARY]
    assert _dig(dns_lab, "kafka.example.test.") == ([PRIMARY], 60)
    assert "dns-flip" in {s["step"] for s in report["rto"]["steps"] if s["rehearsed"]}
    table = drkit("drill", "history", "--run", report["run_id"], config=dns_lab.config_path)
    assert f"drill record {DRILL} (flipped and restored)" in table.stdout


def test_killed_after_the_flip_resume_restores_it(dns_lab: Lab, world: dict[str, str]) -> None:
    config = _config(dns_lab)
    killed = _drill(config, world, env={"DRKIT_FAILPOINT": "dns-changed"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _dig(dns_lab, DRILL)[0] == [BACKUP]  # flipped, not yet restored
    assert _dig(dns_lab, "kafka.example.test.")[0] == [PRIMARY]
    run_id = next(w.rstrip(":") for w in killed.stderr.split() if "-drill-primary-backup-" in w)
    resumed = drkit("drill", "--resume", run_id, "-o", "json", config=config)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    rec = json.loads(resumed.stdout)["dns"]["drill_record"]
    assert rec["before"]["values"] == [PRIMARY]  # journaled before the kill
    assert rec["restore"]["action"] == "restored"
    assert _dig(dns_lab, DRILL)[0] == [PRIMARY]
    assert not {g for g in _groups_on(dns_lab.bootstrap("backup")) if g.endswith(world["group"])}


def test_a_record_changed_by_someone_else_is_left_alone(dns_lab: Lab,
                                                        world: dict[str, str]) -> None:
    config = _config(dns_lab)
    killed = _drill(config, world, env={"DRKIT_FAILPOINT": "dns-changed"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _set(dns_lab, DRILL, OTHER)  # an operator moved the drill record meanwhile
    run_id = next(w.rstrip(":") for w in killed.stderr.split() if "-drill-primary-backup-" in w)
    resumed = drkit("drill", "--resume", run_id, "-o", "json", config=config)
    assert resumed.returncode == 1, resumed.stderr + resumed.stdout
    report = json.loads(resumed.stdout)
    assert report["dns"]["drill_record"]["restore"]["action"] == "left alone"
    assert any(f"drill record {DRILL}" in f and "left alone" in f for f in report["failures"])
    assert _dig(dns_lab, DRILL)[0] == [OTHER]
    assert _dig(dns_lab, "kafka.example.test.")[0] == [PRIMARY]


def test_drill_record_must_not_be_a_production_record(dns_lab: Lab,
                                                      world: dict[str, str]) -> None:
    res = _drill(_config(dns_lab, "KAFKA.example.test"), world)
    assert res.returncode == 2, res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "is a production record" in err[0], res.stderr
    assert "Traceback" not in res.stderr
    assert _dig(dns_lab, "kafka.example.test.")[0] == [PRIMARY]


def test_dns_check_reports_an_already_flipped_record(dns_lab: Lab, world: dict[str, str]) -> None:
    _set(dns_lab, "kafka.example.test.", BACKUP)  # as a failover would have flipped it
    res = _drill(dns_lab.config_path, world, "-o", "json")
    assert res.returncode == 1, res.stderr + res.stdout
    report = json.loads(res.stdout)
    (prod,) = report["dns"]["records"]
    assert prod["ok"] is False and prod["now"] == [BACKUP] and prod["flip_to"] == [BACKUP]
    assert any("already points at backup" in f for f in report["failures"]), report["failures"]
    assert _dig(dns_lab, "kafka.example.test.")[0] == [BACKUP]  # checked, not changed


def test_dns_check_reports_a_ttl_mismatch(dns_lab: Lab, world: dict[str, str]) -> None:
    _set(dns_lab, "kafka.example.test.", PRIMARY, ttl=300)
    res = _drill(dns_lab.config_path, world, "-o", "json")
    assert res.returncode == 1, res.stderr + res.stdout
    report = json.loads(res.stdout)
    (prod,) = report["dns"]["records"]
    assert prod["ok"] is False and prod["ttl"] == 300 and prod["ttl_expected"] == 60
    assert any("TTL 300 s, not the 60 s" in f for f in report["failures"]), report["failures"]
    assert report["rto"]["dns_ttl_s"] == 300  # clients cache what the record really says
    assert _dig(dns_lab, "kafka.example.test.") == ([PRIMARY], 300)
