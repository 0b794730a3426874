"""Issue 17 §2 and §5 without a cluster: journal MAC, key file, free-text scrubbing, secrets
drkit inherits, debug-log scrubbing and the Route 53 http:// warning."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from drkit.config.redaction import SecretLogFilter, environment_secrets
from drkit.dns.route53 import cleartext_warning
from drkit.errors import EXIT_UNSAFE, StateError, UnsafeError
from drkit.runbook.audit import AuditLog, Redactor
from drkit.runbook.state import KEY_FILE, DamagedRun, Journal, RunSummary
from tests.unit.test_run_state import RUN_ID, make_run

# --- the journal's MAC ------------------------------------------------------------------------


def _saved(tmp_path: Path) -> tuple[Journal, Path]:
    journal = Journal(tmp_path)
    run = make_run()
    run.step("commit").outputs = {"plan": {"groups": [{"group": "billing", "offset": 42}]}}
    journal.save(run)
    return journal, journal.path(RUN_ID)


def test_hmac_round_trip_and_key_file_mode(tmp_path: Path) -> None:
    journal, path = _saved(tmp_path)
    data = json.loads(path.read_text())
    assert data["mac"].startswith("hmac-sha256:") and len(data["mac"]) == 12 + 64
    assert journal.load(RUN_ID).to_dict() == json.loads(
        json.dumps({k: v for k, v in data.items() if k != "mac"}))
    key = tmp_path / KEY_FILE
    st = key.lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    # Another Journal object (another process) verifies with the same key file.
    assert Journal(tmp_path).load(RUN_ID).who == "ops@laptop"
    # Saving again keeps the key; the new content gets a new, valid MAC.
    before = key.read_bytes()
    run = journal.load(RUN_ID)
    run.status = "failed"
    journal.save(run)
    assert key.read_bytes() == before and Journal(tmp_path).load(RUN_ID).status == "failed"


@pytest.mark.parametrize("edit", [
    lambda d: d["steps"][1]["outputs"]["plan"]["groups"][0].update(offset=1),
    lambda d: d["steps"][1]["outputs"]["plan"]["groups"].append({"group": "x", "offset": 0}),
    lambda d: d.update(who="mallory@elsewhere"),
    lambda d: d["steps"][0].update(status="pending"),
    lambda d: d.update(mac="hmac-sha256:" + "0" * 64),
    lambda d: d.update(mac=42),
], ids=["offset", "group-added", "who", "step-status", "forged-mac", "mac-not-a-string"])
def test_any_edited_field_is_detected(tmp_path: Path, edit: Any) -> None:
    journal, path = _saved(tmp_path)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(UnsafeError) as err:
        journal.load(RUN_ID)
    assert err.value.exit_code == EXIT_UNSAFE
    assert RUN_ID in str(err.value) and "changed outside drkit" in str(err.value)
    with pytest.raises(UnsafeError):
        journal.load(RUN_ID, read_only=True, trust_unsigned=True)  # never, not even to show
    (entry,) = journal.list_runs()
    assert isinstance(entry, DamagedRun) and entry.status == "tampered"


def test_a_journal_signed_with_another_key_or_without_the_key_is_tampered(
        tmp_path: Path) -> None:
    _journal, path = _saved(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(UnsafeError, match="changed outside drkit"):
        Journal(tmp_path).load(RUN_ID)
    Journal(tmp_path / "other").save(make_run())  # a key of its own
    (tmp_path / KEY_FILE).write_bytes((tmp_path / "other" / KEY_FILE).read_bytes())
    os.chmod(tmp_path / KEY_FILE, 0o600)
    with pytest.raises(UnsafeError, match="changed outside drkit"):
        Journal(tmp_path).load(RUN_ID)
    assert path.exists()  # left as it was


def test_unsigned_journal_is_listed_and_shown_but_resumed_only_when_trusted(
        tmp_path: Path) -> None:
    journal, path = _saved(tmp_path)
    data = json.loads(path.read_text())
    del data["mac"]
    path.write_text(json.dumps(data))
    with pytest.raises(UnsafeError, match="--trust-journal"):
        journal.load(RUN_ID)
    assert journal.load(RUN_ID, read_only=True).run_id == RUN_ID
    (entry,) = journal.list_runs()
    assert isinstance(entry, RunSummary) and entry.integrity == "unsigned"
    run = journal.load(RUN_ID, trust_unsigned=True)
    journal.save(run)  # signed from now on
    assert journal.load(RUN_ID).run_id == RUN_ID


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    _journal, _path = _saved(tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(UnsafeError, match="0600"):
        Journal(tmp_path).load(RUN_ID)
    with pytest.raises(UnsafeError, match="0600"):
        Journal(tmp_path).save(make_run("20261125T204502Z-failover-primary-backup-000001"))


def test_a_symlink_at_the_key_path_is_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "victim"
    elsewhere.write_text("not drkit's\n")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / KEY_FILE).symlink_to(elsewhere)
    with pytest.raises(StateError, match="journal key"):
        Journal(state).save(make_run())
    assert elsewhere.read_text() == "not drkit's\n"


# --- scrubbing: free text only ----------------------------------------------------------------


def test_a_secret_equal_to_a_group_name_never_renames_the_group(tmp_path: Path) -> None:
    secret = "billing-eu"
    journal = Journal(tmp_path, secrets=[secret])
    run = make_run()
    run.step("commit").outputs = {
        "plan": {"groups": [{"group": secret, "reason": f"{secret} is empty"}]},
        "snapshot": {secret: [["orders", 0, 5]]},
        "groups": {secret: {"outcome": "committed"}},
        "stdout": f"logged in with {secret}",
        "summary": f"committed {secret}",
    }
    run.step("commit").error = f"auth {secret} failed"
    journal.save(run)
    stored = journal.load(RUN_ID).step("commit")
    assert stored.outputs["plan"] == run.step("commit").outputs["plan"]
    assert stored.outputs["snapshot"] == {secret: [["orders", 0, 5]]}
    assert list(stored.outputs["groups"]) == [secret]
    assert stored.outputs["stdout"] == "logged in with ***"
    assert stored.outputs["summary"] == "committed ***"
    assert stored.error == "auth *** failed"
    audit = AuditLog(tmp_path, secrets=[secret])
    record = audit.append(RUN_ID, "rolled-back", who="ops", restored=[secret],
                          error=f"{secret} was busy")
    assert record["restored"] == [secret] and record["error"] == "*** was busy"


def test_short_secrets_are_not_hunted_and_are_reported() -> None:
    redactor = Redactor(["abc", "long-enough-1"])
    assert redactor.short == frozenset({"abc"})
    assert redactor.secrets == frozenset({"long-enough-1"})
    hunted = redactor.secrets_in({})
    clean = redactor.scrub_free_text({"message": "abc long-enough-1", "group": "abc"}, hunted)
    assert clean == {"message": "abc ***", "group": "abc"}


# --- secrets drkit inherits --------------------------------------------------------------------


def test_environment_secrets_cover_aws_and_secret_named_variables() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE123", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7",
           "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLE", "KAFKA_PASSWORD": "hunter22",
           "PASSWORD_STORE_DIR": "/home/x/.password-store", "PATH": "/usr/bin"}
    values = {v for _w, v in environment_secrets(env)}
    assert values == {"AKIAEXAMPLE123", "wJalrXUtnFEMI/K7", "FwoGZXIvYXdzEXAMPLE", "hunter22"}


def test_secret_sources_cover_raw_mm2_keys_providers_tsig_and_env(tmp_path: Path) -> None:
    from drkit.config import build_settings
    from drkit.config.javaprops import parse_properties
    from drkit.runbook.session import secret_sources, short_secret_warning

    (tmp_path / "secrets.properties").write_text("trust=provider-trust-pass\n")
    (tmp_path / "tsig.key").write_text(
        'key "drkit" {\n  algorithm hmac-sha256;\n  secret "VFNJR3NlY3JldENhbmFyeQ==";\n};\n')
    mm2 = (
        "clusters = primary, backup\n"
        "primary.bootstrap.servers = 127.0.0.1:1\nbackup.bootstrap.servers = 127.0.0.1:2\n"
        "primary->backup.enabled = true\n"
        "config.providers = f\n"
        "config.providers.f.class = org.apache.kafka.common.config.provider.FileConfigProvider\n"
        f"backup.ssl.truststore.password = ${{f:{tmp_path}/secrets.properties:trust}}\n"
        "primary.ssl.keystore.password = keystore-pass-1\n"
        "primary.sasl.password = abc\n"
    )
    props = parse_properties(mm2, str(tmp_path / "mm2.properties"))
    toml = {"state_dir": "state", "dns": {
        "provider": "rfc2136", "rfc2136": {"server": "127.0.0.1", "zone": "example.test.",
                                           "tsig_key_file": "tsig.key"},
        "records": [{"name": "kafka.example.test.", "values": {"primary": "a.", "backup": "b."}}],
    }}
    settings = build_settings(toml, props, config_path=tmp_path / "drkit.toml",
                              mm2_config_path=tmp_path / "mm2.properties", base_dir=tmp_path)
    env = {"AWS_SECRET_ACCESS_KEY": "aws-secret-canary", "AWS_SESSION_TOKEN": "aws-token-canary"}
    values = {v for _w, v in secret_sources(settings, env)}
    assert {"provider-trust-pass", "keystore-pass-1", "VFNJR3NlY3JldENhbmFyeQ==",
            "aws-secret-canary", "aws-token-canary"} <= values
    assert not any("${" in v for v in values)
    warning = short_secret_warning(settings)
    assert warning is not None and "sasl.password" in warning and "abc" not in warning.replace(
        "characters", "")


# --- debug logs and the Route 53 endpoint -----------------------------------------------------


def test_debug_log_filter_masks_botocore_headers_and_known_secrets(
        caplog: pytest.LogCaptureFixture) -> None:
    flt = SecretLogFilter(["tsig-secret-canary"])
    logger = logging.getLogger("botocore.endpoint.test")
    caplog.handler.addFilter(flt)
    try:
        with caplog.at_level(logging.DEBUG):
            logger.debug("Sending http request: <AWSPreparedRequest method=POST, headers=%s>", {
                "X-Amz-Date": b"20261125T204501Z",
                "X-Amz-Security-Token": b"FwoGZXIvYXdzSESSIONTOKEN",
                "Authorization": b"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261125/us-east-1/"
                                 b"route53/aws4_request, SignedHeaders=host, Signature=abcdef12"})
            logger.debug("GET /?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIAEXAMPLE%2F2026 "
                         "tsig-secret-canary")
            logger.debug("Authorization: AWS4-HMAC-SHA256 Credential=AKIAX/..., Signature=1")
    finally:
        caplog.handler.removeFilter(flt)
    text = caplog.text
    for leaked in ("FwoGZXIvYXdzSESSIONTOKEN", "AKIAEXAMPLE", "abcdef12", "deadbeef",
                   "tsig-secret-canary", "AKIAX"):
        assert leaked not in text, leaked
    assert "X-Amz-Date" in text and "20261125T204501Z" in text  # the rest stays readable


@pytest.mark.parametrize(("url", "warns"), [
    ("http://route53.internal.example:8080", True),
    ("http://10.1.2.3", True),
    ("http://127.0.0.1:5000", False),
    ("http://[::1]:5000", False),
    ("http://localhost:5000", False),
    ("https://route53.amazonaws.com", False),
    (None, False),
])
def test_route53_http_endpoint_warns_unless_loopback(url: str | None, warns: bool) -> None:
    line = cleartext_warning(url)
    assert (line is not None) == warns
    if line:
        assert line.count("\n") == 0 and "https://" in line
