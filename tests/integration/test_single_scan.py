"""``drkit failover`` reads MM2's checkpoints topic once per run (issue 15).

Preflight and translate both need the checkpoints; the run shares one scan through
``RunContext.mirror``. The count is taken in-process (click's CliRunner) by wrapping the reader's
``scan``, which every read of an internal topic goes through, and keeping the scans of the
checkpoints topic.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from drkit.cli import cli
from drkit.lab.lab import Lab
from drkit.mm2 import reader
from tests.helpers import checkpointed, committed, consume_and_commit, mirrored_topic, wait_until

CHECKPOINTS = "primary.checkpoints.internal"


def _count_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap the reader's scan; returns the (growing) list of topics scanned."""
    topics: list[str] = []
    real: Callable[..., Any] = reader.scan

    def counting(config: Any, topic: str, cluster: str, **kw: Any) -> Any:
        topics.append(topic)
        return real(config, topic, cluster, **kw)

    monkeypatch.setattr(reader, "scan", counting)
    return topics


def test_failover_reads_the_checkpoints_topic_once(lab: Lab, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    topic, remote = mirrored_topic(lab, "onescan", 2, 20)
    group = f"onescan-{uuid.uuid4().hex[:6]}"
    consume_and_commit(lab.bootstrap("primary"), group, topic, {0: 7, 1: 11})
    wait_until(lambda: checkpointed(lab, {group}), 120, f"a checkpoint for {group}")

    scanned = _count_scans(monkeypatch)
    result = CliRunner().invoke(
        cli, ["--config", str(lab.config_path), "failover", "--from", "primary", "--to", "backup",
              "--group", group, "--yes", "--output", "json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    steps = {s["id"]: s for s in run["run"]["steps"]}
    assert steps["preflight"]["status"] == "succeeded"
    assert steps["translate"]["status"] == "succeeded"
    assert steps["preflight"]["outputs"]["checkpoints"]["groups"] >= 1
    assert scanned.count(CHECKPOINTS) == 1, scanned
    planned = {p["partition"]: p["new_offset"] for g in run["plan"]["groups"]
               for p in g["partitions"] if g["group"] == group and p["action"] == "commit"}
    assert planned and committed(lab.bootstrap("backup"), group, remote, [0, 1]) == planned
