"""Route 53 behaviour moto cannot show: PENDING, NoSuchChange, throttling, access denied.

botocore's Stubber answers the provider's own boto3 client, so requests are built and
validated against the real Route 53 model, but nothing leaves the process.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from drkit.dns.base import Change, DnsConflict, DnsError, RecordSet
from drkit.dns.route53 import Route53Provider
from drkit.errors import ConfigError

KEY_ID = "AKIADRKITTESTKEY0001"
SECRET = "dRkItSeCrEt/NeVeR+LoGgEd0123456789abcdef"
ZONE = {"HostedZone": {"Id": "/hostedzone/Z123", "Name": "example.test.",
                       "CallerReference": "ref"},
        "DelegationSet": {"NameServers": ["ns-1.awsdns-01.org", "NS-2.awsdns-02.com."]}}
NAME = "kafka.example.test."
PRIMARY = RecordSet(NAME, "CNAME", 60, ("kafka-primary.example.test.",))
BACKUP = RecordSet(NAME, "CNAME", 60, ("kafka-backup.example.test.",))
PENDING = Change("pending", change_id="/change/C1")


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def make(**config: Any) -> tuple[Route53Provider, Stubber]:
    dns = Route53Provider({"hosted_zone_id": "Z123", "poll_interval": 0.001, **config})
    dns._client.backoff_s = 0  # retries without sleeping
    return dns, Stubber(dns.boto_client)


@pytest.fixture
def stubbed() -> Iterator[tuple[Route53Provider, Stubber]]:
    dns, stub = make()
    with stub:
        yield dns, stub
        stub.assert_no_pending_responses()


def change_info(status: str, change_id: str = "/change/C1") -> dict[str, Any]:
    return {"ChangeInfo": {"Id": change_id, "Status": status,
                           "SubmittedAt": "2026-01-01T00:00:00Z"}}


def listing(*values: str, ttl: int = 60) -> dict[str, Any]:
    records = [{"Name": NAME, "Type": "CNAME", "TTL": ttl,
                "ResourceRecords": [{"Value": v}]} for v in values]
    return {"ResourceRecordSets": records, "IsTruncated": False, "MaxItems": "5"}


LIST_PARAMS = {"HostedZoneId": "Z123", "StartRecordName": NAME, "StartRecordType": "CNAME",
               "MaxItems": "5"}


def test_wait_polls_pending_until_insync(stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    for status in ("PENDING", "PENDING", "INSYNC"):
        stub.add_response("get_change", change_info(status), {"Id": "/change/C1"})
    dns.wait(PENDING, 5)


def test_wait_returns_at_once_for_applied_or_already(
        stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, _ = stubbed
    dns.wait(Change("applied", change_id="/change/C1"), 5)
    dns.wait(Change("already"), 5)


def test_wait_timeout_names_the_change() -> None:
    dns, stub = make(wait_timeout=0)  # the config bounds the caller's 300 s
    stub.add_response("get_change", change_info("PENDING"))
    with stub, pytest.raises(DnsError) as caught:
        dns.wait(PENDING, 300)
    assert str(caught.value).startswith("Route 53 change /change/C1 is still PENDING after 0s")
    assert "has not propagated it" in str(caught.value)
    assert "resuming the run waits again" in str(caught.value)


def test_no_such_change(stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    stub.add_client_error("get_change", "NoSuchChange", "A change with ID C1 does not exist",
                          http_status_code=404)
    with pytest.raises(DnsError, match=re.escape("does not know change /change/C1 (NoSuchChange)")):
        dns.wait(PENDING, 5)


def test_throttling_is_retried(stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    stub.add_client_error("get_change", "Throttling", "Rate exceeded", http_status_code=400)
    stub.add_client_error("get_change", "PriorRequestNotComplete", "busy",
                          http_status_code=400)
    stub.add_client_error("get_change", "SomethingNew", "Rate exceeded", http_status_code=400)
    stub.add_response("get_change", change_info("INSYNC"))
    dns.wait(PENDING, 5)


def test_throttling_gives_up_after_bounded_attempts(
        stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    for _ in range(6):
        stub.add_client_error("get_change", "ThrottlingException", "Rate exceeded",
                              http_status_code=400)
    gave_up = re.escape("still fails after 6 attempts (ThrottlingException: Rate exceeded)")
    with pytest.raises(DnsError, match=gave_up):
        dns.wait(PENDING, 5)


def test_botocore_does_not_retry_by_itself() -> None:
    dns, _ = make()
    assert dns.boto_client.meta.config.retries["total_max_attempts"] == 1


def test_access_denied_names_the_source_not_the_secret(
        stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    stub.add_client_error("get_hosted_zone", "AccessDenied",
                          f"User arn:aws:iam::1:user/x is not authorized ({KEY_ID})",
                          http_status_code=403)
    with pytest.raises(DnsError) as caught:
        dns.get(NAME, "CNAME")
    message = str(caught.value)
    assert message == ("access denied (AccessDenied): the AWS credentials drkit found "
                       "(source env) may not change zone Z123; route53:ChangeResourceRecordSets"
                       " and route53:GetChange are needed")
    assert SECRET not in message and KEY_ID not in message
    assert SECRET not in dns.describe()


def test_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    dns = Route53Provider({"hosted_zone_id": "Z123"})
    with pytest.raises(DnsError, match="access denied: drkit found no AWS credentials"):
        dns.get(NAME, "CNAME")


def test_cas_batch_and_pending_change(stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    stub.add_response("get_hosted_zone", ZONE, {"Id": "Z123"})
    stub.add_response("list_resource_record_sets", listing("kafka-primary.example.test",
                                                           ttl=300), LIST_PARAMS)
    stored = {"Name": NAME, "Type": "CNAME", "TTL": 300,  # exactly as stored, not as expected
              "ResourceRecords": [{"Value": "kafka-primary.example.test"}]}
    new = {"Name": NAME, "Type": "CNAME", "TTL": 60,
           "ResourceRecords": [{"Value": "kafka-backup.example.test."}]}
    stub.add_response("change_resource_record_sets", change_info("PENDING", "/change/C9"), {
        "HostedZoneId": "Z123", "ChangeBatch": {"Comment": ANY, "Changes": [
            {"Action": "DELETE", "ResourceRecordSet": stored},
            {"Action": "CREATE", "ResourceRecordSet": new}]}})
    change = dns.change(PRIMARY, BACKUP)
    assert change == Change("pending", "/change/C9",
                            RecordSet(NAME, "CNAME", 300, ("kafka-primary.example.test",)))
    assert dns.nameservers("example.test") == [("ns-1.awsdns-01.org.", 53),
                                               ("ns-2.awsdns-02.com.", 53)]


def test_invalid_change_batch_is_a_conflict(stubbed: tuple[Route53Provider, Stubber]) -> None:
    """Real Route 53 says InvalidChangeBatch when the DELETE no longer matches."""
    dns, stub = stubbed
    stub.add_response("get_hosted_zone", ZONE)
    stub.add_response("list_resource_record_sets", listing("kafka-primary.example.test."))
    stub.add_client_error("change_resource_record_sets", "InvalidChangeBatch",
                          "Tried to delete resource record set but it was not found")
    stub.add_response("list_resource_record_sets", listing("kafka-other.example.test."))
    conflict = re.escape("it is now kafka-other.example.test. (TTL 60), drkit expected old "
                         "kafka-primary.example.test. (TTL 60)")
    with pytest.raises(DnsConflict, match=conflict):
        dns.change(PRIMARY, BACKUP)


def test_create_race_lost_to_the_same_value_is_already(
        stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    stub.add_response("get_hosted_zone", ZONE)
    stub.add_response("list_resource_record_sets", listing())
    stub.add_client_error("change_resource_record_sets", "InvalidChangeBatch",
                          "Tried to create resource record set but it already exists")
    stub.add_response("list_resource_record_sets", listing("kafka-backup.example.test."))
    assert dns.change(None, BACKUP) == Change("already")


def test_rejected_batch_that_is_no_conflict_says_why(
        stubbed: tuple[Route53Provider, Stubber]) -> None:
    dns, stub = stubbed
    stub.add_response("get_hosted_zone", ZONE)
    stub.add_response("list_resource_record_sets", listing("kafka-primary.example.test."))
    stub.add_client_error("change_resource_record_sets", "InvalidChangeBatch",
                          "RRSet of type CNAME with DNS name kafka.example.test. is not "
                          "permitted as it conflicts with other records")
    stub.add_response("list_resource_record_sets", listing("kafka-primary.example.test."))
    with pytest.raises(DnsError, match=r"refused the change .* conflicts with other records"):
        dns.change(PRIMARY, BACKUP)


@pytest.mark.parametrize(("config", "message"), [
    ({}, "needs hosted_zone_id"),
    ({"hosted_zone_id": "Z1", "mode": "last-writer"}, "mode must be"),
    ({"hosted_zone_id": "Z1", "wait_timout": 5}, "unknown keys wait_timout"),
    ({"hosted_zone_id": "Z1", "poll_interval": "5s"}, "poll_interval must be a number"),
    ({"hosted_zone_id": "Z1", "poll_interval": 0}, "poll_interval must be a number .* > 0"),
    ({"hosted_zone_id": "Z1", "profile": "nope"}, "profile = 'nope' is not in"),
])
def test_config_errors(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Route53Provider(config)


def test_describe_before_any_call() -> None:
    assert Route53Provider({"zone": "Example.Test"}).describe() == (
        "route53 zone example.test. mode cas")
    with_auth = Route53Provider({"hosted_zone_id": "/hostedzone/Z9", "mode": "upsert",
                                 "endpoint_url": "http://user:pw@127.0.0.1:5000"})
    assert with_auth.describe() == "route53 zone Z9 mode upsert at http://127.0.0.1:5000"


def test_unreachable_endpoint_is_one_clear_line() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dns = Route53Provider({"hosted_zone_id": "Z1", "endpoint_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(DnsError, match=r"cannot reach http://127.0.0.1:\d+: .*endpoint_url"):
        dns.get("kafka.example.test", "CNAME")
