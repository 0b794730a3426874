"""Secrets end to end (issue 17 §5): what a runbook step can see never reaches what drkit writes
or prints; structured data (group names, the plan) is never scrubbed; `--debug` with Route 53
prints no credentials; a cleartext Route 53 endpoint is warned about once.

Every test proves its own premise: the exec step writes what it saw into a file the test reads
(so the canaries really passed through drkit's hands), and the debug test checks that botocore's
headers were logged (masked) at all.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from drkit.dns.rfc2136 import parse_key_file
from drkit.lab import files
from drkit.lab.lab import Lab
from tests.helpers import (
    checkpointed,
    committed,
    consume_and_commit,
    consume_from_committed,
    mirrored_topic,
    wait_until,
)

FILE_PROVIDER = ("config.providers = file\n"
                 "config.providers.file.class = "
                 "org.apache.kafka.common.config.provider.FileConfigProvider\n")
STEPS = """[[steps]]
id = "preflight"
uses = "preflight"
[[steps]]
id = "neutralise-mm2"
uses = "neutralise-mm2"
[[steps]]
id = "translate"
uses = "translate"
{extra}[[steps]]
id = "approve"
uses = "approve"
[[steps]]
id = "commit"
uses = "commit"
[[steps]]
id = "dns"
uses = "dns-flip"
[[steps]]
id = "verify"
uses = "verify"
"""


def _producer_jaas(secrets_file: Path) -> str:
    """A SASL password from the file config provider, on the producer role (drkit never
    builds a producer; the lab is PLAINTEXT)."""
    return ("backup.producer.sasl.jaas.config = org.apache.kafka.common.security.plain."
            'PlainLoginModule required username="drkit" '
            f'password="${{file:{secrets_file}:password}}";\n')


AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _canary(kind: str) -> str:
    return f"Canary{kind}{uuid.uuid4().hex[:12]}"


def _clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any AWS settings of the machine, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, **extra}


def _run(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """drkit with exactly ``env`` (no inherited AWS variables)."""
    return subprocess.run(["drkit", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def _lab_copy(lab: Lab, where: Path, extra_props: str, dns: dict[str, Any] | None = None,
              dns_toml: str = "") -> Path:
    """A drkit.toml of our own (own state dir) for the shared lab's clusters, with the lab's
    mm2.properties plus ``extra_props`` (secrets MM2 itself never sees: it keeps its file)."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "mm2.properties").write_text(lab.mm2_config_path.read_text() + extra_props)
    records = [(dns["record"], dns["values"])] if dns else []
    text = files.drkit_toml("mm2.properties", "state", dns, records,
                            mm2_version=lab.state.kafka_version)
    config = where / "drkit.toml"
    config.write_text(text + dns_toml)
    return config


def _checkpointed_group(lab: Lab, stem: str) -> str:
    """A group MM2 has checkpointed on backup (preflight wants a checkpoint to judge its age)."""
    topic, _remote = mirrored_topic(lab, stem, 1, 5)
    group = f"{stem}-{uuid.uuid4().hex[:6]}"
    consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 5})
    wait_until(lambda: checkpointed(lab, {group}), 90, f"a checkpoint for {group}")
    return group


def _everything_written(state_dir: Path) -> str:
    """Every file drkit wrote in its state dir (journals, audit.jsonl, locks, inventory)."""
    assert state_dir.is_dir()
    texts = [p.read_bytes().decode("utf-8", errors="replace")
             for p in sorted(state_dir.rglob("*")) if p.is_file()]
    assert texts
    return "\n".join(texts)


# --- (a) an exec step that prints every secret kind ------------------------------------------


def test_exec_step_printing_every_secret_leaks_none_of_them(
        lab: Lab, bind_server: dict[str, Any], tmp_path: Path) -> None:
    sasl, trust = _canary("Sasl"), _canary("Trust")
    aws = {"AWS_ACCESS_KEY_ID": f"AKIA{uuid.uuid4().hex[:16].upper()}",
           "AWS_SECRET_ACCESS_KEY": _canary("AwsSecret"), "AWS_SESSION_TOKEN": _canary("AwsToken")}
    tsig = next(iter(parse_key_file(Path(bind_server["key_file"]).read_text()).values()))[1]
    canaries = {"sasl": sasl, "truststore": trust, "tsig": tsig, **aws}
    assert all(len(v) >= 12 for v in canaries.values())

    secrets_file = tmp_path / "secrets.properties"
    secrets_file.write_text(f"password={sasl}\n")
    # The lab is PLAINTEXT: the SASL password sits on the producer role, which drkit never
    # uses; the truststore is PEM-typed and librdkafka is never given it (drkit only scrubs it).
    config = _lab_copy(lab, tmp_path / "conf", FILE_PROVIDER + _producer_jaas(secrets_file)
                       + f"ssl.truststore.type = PEM\nssl.truststore.password = {trust}\n",
                       dns=bind_server)
    raw = tmp_path / "what-the-step-saw.txt"
    raw_fail = tmp_path / "what-the-failing-step-saw.txt"
    show = ('{ env; cat "$2"; cat "$3"; grep truststore.password "$4"; } > "$1"; '
            'cat "$1"; cat "$1" >&2')
    files_args = [str(bind_server["key_file"]), str(secrets_file),
                  str(tmp_path / "conf" / "mm2.properties")]
    leak = json.dumps(["sh", "-c", show, "sh", str(raw), *files_args])
    leak_fail = json.dumps(["sh", "-c", show + '; echo "last: $AWS_SESSION_TOKEN" >&2; exit 3',
                            "sh", str(raw_fail), *files_args])
    pass_env = json.dumps(list(AWS_VARS))
    runbook = tmp_path / "leaky.toml"
    runbook.write_text('name = "leaky"\n' + STEPS.format(extra=(
        f'[[steps]]\nid = "leak"\nuses = "exec"\n'
        f"with = {{ command = {leak}, pass_env = {pass_env} }}\n"
        f'[[steps]]\nid = "leak-fail"\nuses = "exec"\non_failure = "continue"\n'
        f"with = {{ command = {leak_fail}, pass_env = {pass_env} }}\n")))
    env = _clean_env(**aws, DRKIT_CONFIG=str(config))
    group = _checkpointed_group(lab, "canary")
    args = ["failover", "--from", "primary", "--to", "backup", "--group", group,
            "--runbook", str(runbook), "--yes"]

    table = _run("--debug", *args, env=env)
    assert table.returncode == 0, table.stderr[-3000:]
    as_json = _run(*args, "-o", "json", env=env)
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    run = json.loads(as_json.stdout)["run"]

    # The premise: both steps really saw every secret (they wrote them where only we look).
    for path in (raw, raw_fail):
        seen = path.read_text()
        for kind, value in canaries.items():
            assert value in seen, f"the exec step did not see the {kind} secret"
    steps = {s["id"]: s for s in run["steps"]}
    assert steps["leak"]["status"] == "succeeded" and steps["leak-fail"]["status"] == "failed"
    assert "AWS_SESSION_TOKEN=***" in steps["leak"]["outputs"]["stdout"]
    assert "password=***" in steps["leak"]["outputs"]["stderr"]
    assert steps["leak-fail"]["error"].endswith("exited 3: last: ***")
    assert steps["dns"]["status"] == "succeeded"  # the TSIG key was used for real

    shown = [_run("runs", "show", run["run_id"], *o, env=env) for o in ((), ("-o", "json"))]
    listed = _run("runs", "list", env=env)
    outputs = [table, as_json, *shown, listed]
    assert all(r.returncode == 0 for r in outputs), [r.stderr for r in outputs]
    written = _everything_written(tmp_path / "conf" / "state")
    assert '"event": "step-failed"' in written  # the failing step's error went to the audit log
    for kind, value in canaries.items():
        for res in outputs:
            assert value not in res.stdout + res.stderr, f"{kind} secret printed by {res.args}"
        assert value not in written, f"{kind} secret written into the state dir"


# --- (b) a secret equal to a group's name ----------------------------------------------------


def test_a_secret_equal_to_a_group_name_never_renames_the_group(
        lab: Lab, tmp_path: Path) -> None:
    group = "billing-eu"
    topic, remote = mirrored_topic(lab, "billing", 1, 30)
    consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 20})
    wait_until(lambda: checkpointed(lab, {group}), 90, f"a checkpoint for {group}")
    secrets_file = tmp_path / "secrets.properties"
    secrets_file.write_text(f"password={group}\n")
    config = _lab_copy(lab, tmp_path / "conf", FILE_PROVIDER + _producer_jaas(secrets_file)
                       + f"ssl.truststore.password = {group}\n")
    env = _clean_env(AWS_SESSION_TOKEN=group, DRKIT_CONFIG=str(config))

    # Killed after approval: the resumed run commits the plan it reads back from the journal.
    killed = _run("failover", "--from", "primary", "--to", "backup", "--group", group, "--yes",
                  env={**env, "DRKIT_FAILPOINT": "after:approve"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_id = re.search(r"run (\S+):", killed.stderr)
    assert run_id, killed.stderr
    journal_path = tmp_path / "conf" / "state" / "runs" / f"{run_id[1]}.json"
    journal = json.loads(journal_path.read_text())
    plan = next(s for s in journal["steps"] if s["id"] == "translate")["outputs"]["plan"]
    assert [g["group"] for g in plan["groups"]] == [group]
    planned = {p["partition"]: p["new_offset"] for p in plan["groups"][0]["partitions"]
               if p["action"] == "commit"}
    assert planned and all(o <= 20 for o in planned.values())

    resumed = _run("failover", "--resume", run_id[1], "--yes", "-o", "json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert [g["group"] for g in out["plan"]["groups"]] == [group]
    assert [g["group"] for g in out["apply"]["groups"]] == [group]

    assert committed(lab.bootstrap("backup"), group, remote, [0]) == planned
    admin = AdminClient({"bootstrap.servers": lab.bootstrap("backup")})
    listing = admin.list_consumer_groups(request_timeout=15).result()
    names = {g.group_id for g in listing.valid}
    assert group in names and "***" not in names and not any("***" in n for n in names)
    # Nothing lost: the group, resumed on backup, reads every record it had not consumed.
    values = {m.value().decode() for m in consume_from_committed(
        lab.bootstrap("backup"), group, remote, [0])}
    assert {f"0-{i}" for i in range(20, 30)} <= values
    final = json.loads(journal_path.read_text())
    steps = {s["id"]: s for s in final["steps"]}
    assert [g["group"] for g in steps["translate"]["outputs"]["plan"]["groups"]] == [group]
    assert list(steps["commit"]["outputs"]["groups"]) == [group]
    assert steps["verify"]["status"] == "succeeded"


# --- (c) --debug with Route 53, and a cleartext endpoint --------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[str, int]]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield server.get_host_and_port()
    finally:
        server.stop()


@pytest.fixture
def zone(moto: tuple[str, int]) -> str:
    """A clean moto holding example.test with kafka → kafka-primary."""
    endpoint = f"http://{moto[0]}:{moto[1]}"
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    r53 = boto3.client("route53", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    zone_id = str(r53.create_hosted_zone(Name="example.test", CallerReference="secrets")
                  ["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {
            "Name": "kafka.example.test.", "Type": "CNAME", "TTL": 60,
            "ResourceRecords": [{"Value": "kafka-primary.example.test."}]}}]})
    return zone_id


def _route53_toml(zone_id: str, endpoint: str, nameservers: str = "") -> str:
    return f"""
[dns]
provider = "route53"
{nameservers}
[[dns.records]]
name = "kafka.example.test."
type = "CNAME"
ttl = 60
values = {{ primary = "kafka-primary.example.test.", backup = "kafka-backup.example.test." }}
[dns.route53]
hosted_zone_id = "{zone_id}"
endpoint_url = "{endpoint}"
"""


def _assert_no_aws_secret(text: str, canaries: dict[str, str]) -> None:
    # The premise: botocore's signed headers were logged, masked.
    assert "'Authorization': b'***'" in text
    assert "'X-Amz-Security-Token': b'***'" in text
    assert "x-amz-security-token:***" in text  # botocore.auth's canonical request
    for kind, value in canaries.items():
        assert value not in text, f"{kind} printed"
    values = re.findall(r"(?i)authorization['\"]?\s*[:=]\s*b?['\"]?([^'\",}\s]*)", text)
    assert values and set(values) == {"***"}, values
    assert not re.search(r"(?:Signature|Credential)=(?!\*\*\*)", text)


@pytest.mark.parametrize("source", ["environment", "credentials file"])
def test_debug_dns_show_on_route53_prints_no_credentials(
        zone: str, moto: tuple[str, int], tmp_path: Path, source: str) -> None:
    canaries = {"AWS_ACCESS_KEY_ID": f"AKIA{uuid.uuid4().hex[:16].upper()}",
                "AWS_SECRET_ACCESS_KEY": _canary("AwsSecret"),
                "AWS_SESSION_TOKEN": _canary("AwsToken")}
    (tmp_path / "mm2.properties").write_text(
        "clusters = primary, backup\nprimary.bootstrap.servers = 127.0.0.1:1\n"
        "backup.bootstrap.servers = 127.0.0.1:2\nprimary->backup.enabled = true\n")
    config = tmp_path / "drkit.toml"
    config.write_text('mm2_config = "mm2.properties"\nstate_dir = "state"\n'
                      + _route53_toml(zone, f"http://127.0.0.1:{moto[1]}"))
    creds = tmp_path / "credentials"
    creds.write_text("[default]\n" + "".join(f"{k.lower()} = {v}\n" for k, v in canaries.items()))
    env = _clean_env(DRKIT_CONFIG=str(config), AWS_DEFAULT_REGION="us-east-1",
                     AWS_CONFIG_FILE=str(tmp_path / "no-config"),
                     AWS_SHARED_CREDENTIALS_FILE=str(creds if source == "credentials file"
                                                     else tmp_path / "no-credentials"))
    if source == "environment":
        env.update(canaries)
    res = _run("--debug", "dns", "show", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "kafka-primary.example.test." in res.stdout and "primary" in res.stdout
    _assert_no_aws_secret(res.stdout + res.stderr, canaries)
    assert "warning" not in res.stderr.lower()  # http:// to 127.0.0.1 stays silent


def _loopback_name() -> str | None:
    """This host's name, if it resolves to a loopback address only (so moto on 127.0.0.1 is
    reachable by it) — a name drkit's rule cannot know to be loopback without resolving it."""
    name = socket.gethostname()
    if name == "localhost" or name.endswith(".localhost"):
        return None
    try:
        addresses = {a[4][0] for a in socket.getaddrinfo(name, None, socket.AF_INET)}
    except OSError:
        return None
    return name if addresses == {"127.0.0.1"} else None


def _authoritative_stand_in(bind_server: dict[str, Any]) -> str:
    """moto has no name servers to verify a flip against: a private BIND stands in for Route
    53's, already answering the new value. Returns the ``[dns] nameservers`` line."""
    from drkit.dns.base import RecordSet
    from drkit.dns.rfc2136 import Rfc2136Provider

    bind = Rfc2136Provider({"server": bind_server["server"], "port": bind_server["port"],
                            "zone": bind_server["zone"], "tsig_key_file": bind_server["key_file"]})
    name = "kafka.example.test."
    assert bind.change(bind.get(name, "CNAME"), RecordSet(
        name, "CNAME", 60, ("kafka-backup.example.test.",))).status == "applied"
    return f'nameservers = ["{bind_server["server"]}:{bind_server["port"]}"]'


def test_failover_with_route53_over_http_warns_once_and_debug_shows_no_credentials(
        lab: Lab, zone: str, moto: tuple[str, int], bind_server: dict[str, Any],
        tmp_path: Path) -> None:
    name = _loopback_name()
    if name is None:  # the CLI path needs a non-literal name for moto; test the rule in-process
        from drkit.dns.route53 import cleartext_warning

        line = cleartext_warning("http://route53.internal.example:8080")
        assert line and "\n" not in line and "route53.internal.example" in line
        pytest.skip("this host's name does not resolve to 127.0.0.1 only: "
                    "checked the warning in-process")
    canaries = {"AWS_ACCESS_KEY_ID": f"AKIA{uuid.uuid4().hex[:16].upper()}",
                "AWS_SECRET_ACCESS_KEY": _canary("AwsSecret"),
                "AWS_SESSION_TOKEN": _canary("AwsToken")}
    config = _lab_copy(lab, tmp_path / "conf", "",
                       dns_toml=_route53_toml(zone, f"http://{name}:{moto[1]}",
                                              _authoritative_stand_in(bind_server)))
    env = _clean_env(**canaries, DRKIT_CONFIG=str(config), AWS_DEFAULT_REGION="us-east-1",
                     AWS_CONFIG_FILE=str(tmp_path / "no-config"),
                     AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"))
    res = _run("--debug", "failover", "--from", "primary", "--to", "backup", "--group",
               _checkpointed_group(lab, "route53"), "--yes", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    warnings = [line for line in res.stderr.splitlines() if "endpoint_url uses http://" in line]
    assert warnings == [f"drkit: warning: [dns.route53] endpoint_url uses http:// to {name}: "
                        "requests, session token and signatures travel unencrypted; use https://"]
    _assert_no_aws_secret(res.stdout + res.stderr, canaries)
    assert "kafka-backup.example.test." in res.stderr + res.stdout  # the record was flipped
    shown = _run("dns", "show", "-o", "json", env=env)
    assert json.loads(shown.stdout)[0]["points_at"] == "backup"
    assert all(v not in _everything_written(tmp_path / "conf" / "state")
               for v in canaries.values())
