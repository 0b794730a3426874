"""`drkit status` on a real lab: OK, MM2 stopped → CRITICAL, primary killed → bounded answer."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jsonschema
from prometheus_client.parser import text_string_to_metric_families

from drkit.lab.lab import Lab
from tests.helpers import (
    checkpointed,
    consume_and_commit,
    drkit,
    mirrored_topic,
    produce,
    wait_until,
)
from tests.integration.test_failover import IdleMember

SCHEMA = json.loads((Path(__file__).parents[2] / "drkit" / "status" /
                     "status.schema.json").read_text())


def _status(lab: Lab, *args: str, timeout: float = 120) -> tuple[int, Any]:
    res = drkit("status", "-o", "json", *args, config=lab.config_path, timeout=timeout)
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    return res.returncode, doc


def test_status_ok_then_mm2_stopped_then_primary_killed(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab: Lab = make_lab()
    produce(lab.bootstrap("primary"), "orders", [(p, b"k", b"v") for p in range(3)
                                                 for _ in range(30)])
    for g, n in (("st-busy", 20), ("st-done", 30)):
        consume_and_commit(lab.bootstrap("primary"), g, "orders", dict.fromkeys(range(3), n))
    wait_until(lambda: checkpointed(lab, {"st-busy", "st-done"}), 90, "checkpoints")

    def healthy() -> tuple[int, Any] | None:
        code, doc = _status(lab)
        return (code, doc) if code == 0 else None

    code, doc = wait_until(healthy, 60, "status OK (lag caught up)")
    assert doc["status"] == "OK" and doc["checks"] == []
    flow = doc["flows"][0]
    assert flow["heartbeat_age_s"] is not None and flow["heartbeat_age_s"] < 30
    groups = {g["group"]: g for g in flow["groups"]}
    assert groups["st-done"]["ready"] and groups["st-busy"]["ready"]
    assert groups["st-busy"]["behind_messages"] > 0  # 30 mirrored, checkpoint at ~1 per part
    table = drkit("status", config=lab.config_path)
    assert table.returncode == 0 and table.stdout.startswith("DRKIT OK")
    assert all(len(line) <= 100 for line in table.stdout.splitlines())
    prom = drkit("status", "-o", "prometheus", config=lab.config_path)
    families = {f.name: f for f in text_string_to_metric_families(prom.stdout)}
    assert families["drkit_status"].samples[0].value == 0
    assert {s.labels["cluster"]: s.value for s in families["drkit_up"].samples} == {
        "primary": 1, "backup": 1}
    ready = {s.labels["group"]: s.value for s in families["drkit_group_failover_ready"].samples}
    assert ready == {"st-busy": 1, "st-done": 1}

    assert lab.stop("mm2")

    def critical() -> tuple[int, Any] | None:
        code, doc = _status(lab, "--crit-heartbeat-age", "3", "--warn-heartbeat-age", "2")
        return (code, doc) if code == 2 else None

    code, doc = wait_until(critical, 60, "CRITICAL once heartbeats stop")
    assert any("heartbeat" in c["message"] and c["level"] == "CRITICAL" for c in doc["checks"])

    assert lab.stop("primary", kill=True)
    started = time.monotonic()
    res = drkit("status", "--timeout", "5", config=lab.config_path, timeout=120)
    elapsed = time.monotonic() - started
    assert res.returncode == 2, res.stdout + res.stderr
    first = res.stdout.splitlines()[0]
    assert first.startswith("DRKIT CRITICAL") and "primary" in first and "unreachable" in first
    assert elapsed < 30, f"status took {elapsed:.0f} s with the primary down"  # bounded, no hang
    code, doc = _status(lab, "--timeout", "5")
    assert code == 2
    clusters = {c["alias"]: c for c in doc["clusters"]}
    assert clusters["primary"]["reachable"] is False and clusters["backup"]["reachable"] is True
    assert doc["flows"][0]["groups"], "readiness still comes from the standby's checkpoints"


def test_group_with_active_member_on_standby_is_not_ready(lab: Lab) -> None:
    topic, remote = mirrored_topic(lab, "st", 1, 5)
    group = f"st-active-{uuid.uuid4().hex[:6]}"
    consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 5})
    wait_until(lambda: checkpointed(lab, {group}), 90, "checkpoint")
    member = IdleMember(lab.bootstrap("backup"), group, remote)
    try:
        member.join()
        code, doc = _status(lab, "--group", group)
    finally:
        member.close()
    (g,) = doc["flows"][0]["groups"]
    assert g["ready"] is False and g["members_on_standby"] == 1
    assert code == 1 and any(c["level"] == "WARNING" and group in c["subject"]
                             for c in doc["checks"])


def test_status_config_problems_are_unknown(tmp_path: Path) -> None:
    res = drkit("status", "--mm2-config", str(tmp_path / "missing.properties"),
                env={"DRKIT_CONFIG": ""})
    assert res.returncode == 3 and res.stdout.startswith("DRKIT UNKNOWN - ")
    assert "missing.properties" in res.stdout
