"""Issue 18 item 1: MM2's liveness is judged without heartbeats when they are switched off.

A lab whose mm2.properties has ``emit.heartbeats.enabled = false`` and
``sync.group.offsets.enabled = true``: while MM2 runs, its Connect worker group on the standby
has members and the failover is refused (exit 3); a configuration that names a worker group
and status topic that do not exist leaves liveness unknown, which is refused too; once MM2 is
stopped, the refused run resumes and commits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from drkit.lab.lab import Lab
from tests.helpers import checkpointed, committed, consume_and_commit, drkit, produce, wait_until

PARTS = [0, 1, 2]
# The packaged runbook's preflight wants a fresh heartbeat while the source is up; this lab
# emits none, so the runbook here has a preflight without that check.
RUNBOOK = """name = "failover"
[[steps]]
id = "preflight"
uses = "preflight"
[[steps]]
id = "neutralise-mm2"
uses = "neutralise-mm2"
[[steps]]
id = "translate"
uses = "translate"
[[steps]]
id = "approve"
uses = "approve"
[[steps]]
id = "commit"
uses = "commit"
[[steps]]
id = "verify"
uses = "verify"
"""


def test_heartbeats_off_mm2_alive_is_refused_until_stopped(make_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab: Lab = make_lab(dns=False, sync_group_offsets=True,
                        extra={"emit.heartbeats.enabled": "false"})
    assert "emit.heartbeats.enabled = false" in lab.mm2_config_path.read_text()
    produce(lab.bootstrap("primary"), "orders", [(p, b"k", b"v") for p in PARTS for _ in range(9)])
    consume_and_commit(lab.bootstrap("primary"), "synced", "orders", {0: 9, 1: 4, 2: 2})
    wait_until(lambda: checkpointed(lab, {"synced"}), 90, "checkpoints for 'synced'")

    runbook = tmp_path / "failover.toml"
    runbook.write_text(RUNBOOK)
    refused = drkit("failover", "--from", "primary", "--to", "backup", "--runbook",
                    str(runbook), "--yes", config=lab.config_path)
    assert refused.returncode == 3, refused.stderr
    assert "MM2 is syncing group offsets into backup" in refused.stderr
    assert "worker group 'primary-mm2' on backup has 1 member(s)" in refused.stderr
    run_id = re.search(r"--resume (\S+?)`", refused.stderr)
    assert run_id, refused.stderr
    runs = json.loads(drkit("runs", "show", run_id.group(1), "-o", "json",
                            config=lab.config_path).stdout)
    steps = {s["id"]: s["status"] for s in runs["run"]["steps"]}
    assert steps["neutralise-mm2"] == "failed" and steps["commit"] == "pending"

    # MM2 stopped: its worker group is left without members.
    lab.stop("mm2")
    assert not lab.state.running("mm2")

    # A configuration naming a worker group and status topic that the standby does not have
    # (MM2 run in some other Connect cluster): liveness is unknown, so still refused.
    elsewhere = tmp_path / "mm2-elsewhere.properties"
    elsewhere.write_text(lab.mm2_config_path.read_text()
                         + "backup.group.id = mm2-elsewhere\n"
                         + "status.storage.topic = mm2-status-elsewhere\n")
    toml = tmp_path / "drkit.toml"
    toml.write_text(f'mm2_config = "{elsewhere}"\nstate_dir = "{tmp_path / "state"}"\n')
    unknown = drkit("failover", "--from", "primary", "--to", "backup", "--runbook",
                    str(runbook), "--yes", config=toml)
    assert unknown.returncode == 3, unknown.stderr
    assert "cannot tell whether MM2 is syncing group offsets into backup" in unknown.stderr
    assert "emit.heartbeats.enabled = false at" in unknown.stderr
    assert "sync.group.offsets.enabled = false" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    done = drkit("failover", "--resume", run_id.group(1), "--runbook", str(runbook), "--yes",
                 config=lab.config_path)
    assert done.returncode == 0, done.stderr
    shown = json.loads(drkit("runs", "show", run_id.group(1), "-o", "json",
                             config=lab.config_path).stdout)
    neut = next(s for s in shown["run"]["steps"] if s["id"] == "neutralise-mm2")
    assert neut["status"] == "succeeded"
    assert neut["outputs"]["worker_members"] == 0
    # The run went on to commit: the standby group is where the plan put each partition.
    translate = next(s for s in shown["run"]["steps"] if s["id"] == "translate")
    group = next(g for g in translate["outputs"]["plan"]["groups"] if g["group"] == "synced")
    planned = {p["partition"]: p["new_offset"] if p["action"] == "commit" else p["current"]
               for p in group["partitions"]}
    assert planned and committed(lab.bootstrap("backup"), "synced", "primary.orders",
                                 PARTS) == planned
