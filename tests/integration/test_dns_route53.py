"""The Route 53 provider against moto's real HTTP server (boto3 with endpoint_url).

moto always answers INSYNC and never NoSuchChange, so waiting and throttling are covered by
tests/unit/test_route53_stubbed.py with botocore's Stubber instead.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from drkit.dns.base import Change, DnsConflict, DnsError, RecordSet
from drkit.dns.route53 import Route53Provider
from drkit.errors import ConfigError

NAME = "kafka.example.test."
PRIMARY = RecordSet(NAME, "CNAME", 60, ("kafka-primary.example.test.",))
BACKUP = RecordSet(NAME, "CNAME", 60, ("kafka-backup.example.test.",))
OTHER = RecordSet(NAME, "CNAME", 60, ("kafka-other.example.test.",))


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def endpoint(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    """A clean moto and a credential chain that only sees the fake env credentials."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return moto_endpoint


@pytest.fixture
def r53(endpoint: str) -> Any:
    """Plain boto3: plays the AWS console and the colleague who edits records by hand."""
    return boto3.client("route53", endpoint_url=endpoint, region_name="us-east-1")


def make_zone(r53: Any, name: str = "example.test", private: bool = False) -> str:
    extra: dict[str, Any] = {}
    if private:
        extra = {"VPC": {"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"},
                 "HostedZoneConfig": {"PrivateZone": True, "Comment": "private"}}
    zone = r53.create_hosted_zone(Name=name, CallerReference=f"{name}-{private}", **extra)
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def put(r53: Any, zone_id: str, action: str, rrset: dict[str, Any]) -> None:
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Changes": [{"Action": action, "ResourceRecordSet": rrset}]})


def cname(target: str, name: str = NAME) -> dict[str, Any]:
    return {"Name": name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": target}]}


def stored(r53: Any, zone_id: str, name: str, rtype: str) -> list[dict[str, Any]]:
    listed = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [r for r in listed if r["Name"] == name and r["Type"] == rtype]


@pytest.fixture
def zone(r53: Any) -> str:
    zone_id = make_zone(r53)
    put(r53, zone_id, "CREATE", cname("kafka-primary.example.test"))
    return zone_id


def provider(endpoint: str, **config: Any) -> Route53Provider:
    return Route53Provider({"endpoint_url": endpoint, **config})


def test_flip_cas_reads_back_and_repeat_is_already(endpoint: str, r53: Any, zone: str) -> None:
    dns = provider(endpoint, hosted_zone_id=zone)
    assert dns.get("KAFKA.example.test", "cname") == PRIMARY

    change = dns.change(PRIMARY, BACKUP)
    assert change.status == "applied"  # moto is always INSYNC
    assert change.change_id and change.old == PRIMARY
    dns.wait(change, 5)
    assert dns.get(NAME, "CNAME") == BACKUP
    [record] = stored(r53, zone, NAME, "CNAME")
    assert record["ResourceRecords"] == [{"Value": "kafka-backup.example.test."}]

    assert dns.change(PRIMARY, BACKUP) == Change("already")  # resume after a crash
    assert dns.describe() == f"route53 zone {zone} (example.test.) mode cas at {endpoint}"
    assert dns.nameservers("example.test") == []  # moto's delegation set is not reachable


def test_conflict_seen_before_the_batch(endpoint: str, r53: Any, zone: str) -> None:
    put(r53, zone, "UPSERT", cname("kafka-other.example.test"))
    with pytest.raises(DnsConflict) as caught:
        provider(endpoint, hosted_zone_id=zone).change(PRIMARY, BACKUP)
    message = str(caught.value)
    assert "now kafka-other.example.test." in message
    assert "expected old kafka-primary.example.test." in message
    assert "set kafka-backup.example.test." in message
    assert stored(r53, zone, NAME, "CNAME")[0]["ResourceRecords"] == [
        {"Value": "kafka-other.example.test"}]


def stale_read(dns: Route53Provider, r53: Any, zone: str, now: str) -> RecordSet:
    """drkit reads a value, then a colleague changes the record before drkit's batch arrives.

    moto checks a DELETE against its change history, not the current record: a DELETE of any
    value it ever stored succeeds (and deletes whatever is there now). So the value drkit "read"
    must be one moto never stored, or moto would accept the stale batch that Route 53 refuses.
    """
    put(r53, zone, "UPSERT", cname(now))
    stale = RecordSet(NAME, "CNAME", 60, ("kafka-blue.example.test.",))
    raw = {"Name": NAME, "Type": "CNAME", "TTL": 60,
           "ResourceRecords": [{"Value": "kafka-blue.example.test."}]}
    read, reads = dns._read, iter([(stale, raw)])
    dns._read = lambda name, rtype: next(reads, None) or read(name, rtype)  # type: ignore
    return stale


def test_cas_batch_refused_when_the_record_changed_after_the_read(endpoint: str, r53: Any,
                                                                  zone: str) -> None:
    dns = provider(endpoint, hosted_zone_id=zone)
    stale = stale_read(dns, r53, zone, "kafka-other.example.test")
    with pytest.raises(DnsConflict) as caught:
        dns.change(stale, BACKUP)  # moto answers InvalidInput here, AWS InvalidChangeBatch
    assert "now kafka-other.example.test. (TTL 60)" in str(caught.value)
    assert "expected old kafka-blue.example.test." in str(caught.value)
    assert "InvalidInput" in str(caught.value.__cause__)  # the server refused, not a pre-check
    assert stored(r53, zone, NAME, "CNAME")[0]["ResourceRecords"] == [
        {"Value": "kafka-other.example.test"}]  # the batch was all or nothing


def test_cas_race_won_by_the_same_value_is_already(endpoint: str, r53: Any, zone: str) -> None:
    dns = provider(endpoint, hosted_zone_id=zone)
    stale = stale_read(dns, r53, zone, "kafka-backup.example.test")
    assert dns.change(stale, BACKUP) == Change("already")


def test_upsert_mode_flips_regardless(endpoint: str, r53: Any, zone: str) -> None:
    put(r53, zone, "UPSERT", cname("kafka-other.example.test"))
    dns = provider(endpoint, hosted_zone_id=zone, mode="upsert")
    change = dns.change(PRIMARY, BACKUP)
    assert change.status == "applied" and change.old == OTHER
    assert dns.get(NAME, "CNAME") == BACKUP
    assert dns.describe().startswith(f"route53 zone {zone} (example.test.) mode upsert")


def test_missing_zone_id_is_a_clear_error(endpoint: str) -> None:
    dns = provider(endpoint, hosted_zone_id="/hostedzone/ZNOPE")
    with pytest.raises(ConfigError) as caught:
        dns.get(NAME, "CNAME")
    assert str(caught.value) == ("hosted zone ZNOPE not found: check [dns.route53] "
                                 "hosted_zone_id")


def test_zone_found_by_name(endpoint: str, r53: Any, zone: str) -> None:
    make_zone(r53, "other.test")
    dns = provider(endpoint, zone="Example.Test")
    assert dns.get(NAME, "CNAME") == PRIMARY
    assert dns.describe() == f"route53 zone {zone} (example.test.) mode cas at {endpoint}"
    with pytest.raises(ConfigError, match=r"not in hosted zone .* \(example.test.\)"):
        dns.get("kafka.other.test", "CNAME")


def test_zone_name_must_match_exactly_one_zone(endpoint: str, r53: Any, zone: str) -> None:
    missing = re.escape("no Route 53 hosted zone is named missing.test.")
    with pytest.raises(ConfigError, match=missing):
        provider(endpoint, zone="missing.test").get("kafka.missing.test", "CNAME")
    private = make_zone(r53, "example.test", private=True)
    with pytest.raises(ConfigError) as caught:
        provider(endpoint, zone="example.test").get(NAME, "CNAME")
    assert f"{zone} public" in str(caught.value) and f"{private} private" in str(caught.value)
    assert "set [dns.route53] hosted_zone_id" in str(caught.value)
    both = provider(endpoint, zone="other.test", hosted_zone_id=zone)
    mismatch = re.escape("is zone example.test., not zone = other.test.")
    with pytest.raises(ConfigError, match=mismatch):
        both.get(NAME, "CNAME")


def test_weighted_and_alias_records_are_refused(endpoint: str, r53: Any, zone: str) -> None:
    for ident, weight in (("primary", 100), ("backup", 0)):
        put(r53, zone, "CREATE", {"Name": "w.example.test.", "Type": "A", "TTL": 60,
                                  "SetIdentifier": ident, "Weight": weight,
                                  "ResourceRecords": [{"Value": f"10.0.0.{weight % 7}"}]})
    put(r53, zone, "CREATE", {"Name": "alias.example.test.", "Type": "A", "AliasTarget": {
        "HostedZoneId": zone, "DNSName": "w.example.test.", "EvaluateTargetHealth": False}})
    dns = provider(endpoint, hosted_zone_id=zone)
    new = RecordSet("w.example.test", "A", 60, ("10.0.0.9",))
    with pytest.raises(DnsError) as caught:
        dns.change(None, new)
    message = str(caught.value)
    assert "record w.example.test. A is a weighted (SetIdentifier=" in message
    assert "primary" in message and "backup" in message
    assert "drkit flips only simple records" in message and "ARC routing controls" in message
    with pytest.raises(DnsError, match=r"is an alias .*drkit flips only simple records"):
        dns.get("alias.example.test", "A")
    assert len(stored(r53, zone, "w.example.test.", "A")) == 2  # untouched


def test_a_record_with_two_values(endpoint: str, r53: Any, zone: str) -> None:
    dns = provider(endpoint, hosted_zone_id=zone)
    first = RecordSet("brokers.example.test", "A", 30, ("10.0.0.2", "10.0.0.1"))
    assert dns.get(first.name, "A") is None
    assert dns.change(None, first).status == "applied"  # a CREATE-only batch
    assert dns.get(first.name, "A") == first
    with pytest.raises(DnsConflict, match=re.escape("it is now 10.0.0.1, 10.0.0.2")):
        dns.change(None, RecordSet(first.name, "A", 30, ("10.9.9.9",)))

    second = RecordSet(first.name, "A", 30, ("10.0.1.1", "10.0.1.2"))
    reordered = RecordSet(first.name, "A", 300, ("10.0.0.1", "10.0.0.2"))
    assert dns.change(reordered, second).status == "applied"  # values compare as a set
    [record] = stored(r53, zone, "brokers.example.test.", "A")
    assert sorted(r["Value"] for r in record["ResourceRecords"]) == ["10.0.1.1", "10.0.1.2"]
    assert dns.change(first, RecordSet(first.name, "A", 30, ("10.0.1.2", "10.0.1.1"))
                      ).status == "already"


def test_txt_values_keep_their_quotes(endpoint: str, r53: Any, zone: str) -> None:
    put(r53, zone, "CREATE", {"Name": "t.example.test.", "Type": "TXT", "TTL": 60,
                              "ResourceRecords": [{"Value": '"cluster=primary"'}]})
    dns = provider(endpoint, hosted_zone_id=zone)
    old = dns.get("t.example.test", "TXT")
    assert old is not None and old.values == ('"cluster=primary"',)
    new = RecordSet("t.example.test", "TXT", 60, ('"cluster=backup"',))
    assert dns.change(old, new).status == "applied"
    assert stored(r53, zone, "t.example.test.", "TXT")[0]["ResourceRecords"] == [
        {"Value": '"cluster=backup"'}]
