"""Issue 17 §2: a resumed run trusts only a journal drkit itself signed, and only the approved plan.

A run is killed just before ``commit`` (a real SIGKILL at the ``before:commit`` failpoint); its
journal is then edited the ways an attacker who can write the state directory would. Every
resume must refuse with exit 3 and leave the standby's offsets untouched; the untouched journal
still resumes and commits exactly its plan.
"""

from __future__ import annotations

import copy
import json
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drkit.lab.lab import Lab
from drkit.runbook.state import Journal
from tests.helpers import (
    checkpointed,
    committed,
    consume_and_commit,
    drkit,
    mirrored_topic,
    wait_until,
)

PARTS = [0, 1]


def _commit_groups(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for g in plan["groups"] if any(p["action"] == "commit" for p in g["partitions"])]


def _plan(data: dict[str, Any]) -> dict[str, Any]:
    step = next(s for s in data["steps"] if s["uses"] == "translate")
    return step["outputs"]["plan"]  # type: ignore[no-any-return]


def _offset_set_to_one(data: dict[str, Any]) -> None:
    part = next(p for p in _commit_groups(_plan(data))[0]["partitions"] if p["action"] == "commit")
    part["new_offset"] = 1


def _group_added(data: dict[str, Any]) -> None:
    plan = _plan(data)
    extra = copy.deepcopy(_commit_groups(plan)[0])
    extra["group"] = data["args"]["intruder"]
    plan["groups"].append(extra)


def _who_changed(data: dict[str, Any]) -> None:
    data["who"] = "someone-else@elsewhere"


@pytest.fixture(scope="module")
def killed_run(lab: Lab) -> dict[str, Any]:
    """A run killed before its commit step, with two checkpointed groups in its plan."""
    tag = f"ji{uuid.uuid4().hex[:5]}"
    topic, remote = mirrored_topic(lab, tag, len(PARTS), 20)
    groups = [f"{tag}-a", f"{tag}-b"]
    for i, g in enumerate(groups):
        consume_and_commit(lab.bootstrap("primary"), g, topic, {0: 20 - i, 1: 10 + i})
    wait_until(lambda: checkpointed(lab, set(groups)), 90, "checkpoints")
    killed = drkit("failover", "--from", "primary", "--to", "backup", "--group", f"{tag}-.*",
                   "--yes", "--force-unlock", config=lab.config_path,
                   env={"DRKIT_FAILPOINT": "before:commit"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    runs = json.loads(drkit("runs", "list", "-o", "json", config=lab.config_path).stdout)
    run = next(r for r in runs if r["run_id"] in killed.stderr)
    path = Path(run["path"])
    original = path.read_bytes()
    data = json.loads(original)
    assert data["mac"].startswith("hmac-sha256:")
    assert sorted(g["group"] for g in _commit_groups(_plan(data))) == groups
    return {"run_id": run["run_id"], "path": path, "original": original, "groups": groups,
            "remote": remote, "intruder": f"{tag}-intruder"}


def _nothing_committed(lab: Lab, world: dict[str, Any]) -> None:
    for g in [*world["groups"], world["intruder"]]:
        assert committed(lab.bootstrap("backup"), g, world["remote"], PARTS) == {}, g


def _write(world: dict[str, Any], data: dict[str, Any]) -> None:
    world["path"].write_text(json.dumps(data, indent=2))


@pytest.mark.parametrize("edit", [_offset_set_to_one, _group_added, _who_changed],
                         ids=["offset-set-to-1", "group-added", "who-changed"])
def test_a_journal_edited_without_the_key_is_refused_and_nothing_is_committed(
        lab: Lab, killed_run: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> None:
    world = killed_run
    data = json.loads(world["original"])
    data["args"]["intruder"] = world["intruder"]
    edit(data)
    _write(world, data)
    try:
        res = drkit("failover", "--resume", world["run_id"], "--yes", config=lab.config_path)
        assert res.returncode == 3, res.stderr
        assert res.stderr.count("\n") == 1, res.stderr
        assert world["run_id"] in res.stderr and "changed outside drkit" in res.stderr
        _nothing_committed(lab, world)
        # `runs list` still lists it, marked, and does not fail; `runs show` refuses it too.
        listed = drkit("runs", "list", "-o", "json", config=lab.config_path)
        assert listed.returncode == 0, listed.stderr
        entry = next(r for r in json.loads(listed.stdout) if r["run_id"] == world["run_id"])
        assert entry["status"] == "tampered"
        table = drkit("runs", "list", config=lab.config_path)
        assert table.returncode == 0 and "TAMPERED" in table.stdout
        assert drkit("runs", "show", world["run_id"], config=lab.config_path).returncode == 3
        assert drkit("runs", "rollback", world["run_id"], "--yes",
                     config=lab.config_path).returncode == 3
    finally:
        world["path"].write_bytes(world["original"])


def test_a_plan_changed_and_re_signed_is_still_refused_by_commit(
        lab: Lab, killed_run: dict[str, Any]) -> None:
    """Defence in depth: even with the key, commit applies only the plan that was approved."""
    world = killed_run
    data = json.loads(world["original"])
    _offset_set_to_one(data)
    state_dir = world["path"].parent.parent
    data["mac"] = Journal(state_dir).mac_of(data)
    _write(world, data)
    try:
        res = drkit("failover", "--resume", world["run_id"], "--yes", config=lab.config_path)
        assert res.returncode == 3, res.stderr
        assert "not the plan that was approved" in res.stderr
        assert "plan_digest" in res.stderr  # names the field that differs
        _nothing_committed(lab, world)
    finally:
        world["path"].write_bytes(world["original"])


def test_an_unsigned_journal_needs_trust_journal_then_commits_its_plan(
        lab: Lab, killed_run: dict[str, Any]) -> None:
    world = killed_run
    data = json.loads(world["original"])
    del data["mac"]
    _write(world, data)
    try:
        res = drkit("failover", "--resume", world["run_id"], "--yes", config=lab.config_path)
        assert res.returncode == 3, res.stderr
        assert "no integrity MAC" in res.stderr and "--trust-journal" in res.stderr
        _nothing_committed(lab, world)
        shown = drkit("runs", "show", world["run_id"], config=lab.config_path)
        assert shown.returncode == 0, shown.stderr  # read-only: shown, to be checked
        listed = json.loads(drkit("runs", "list", "-o", "json", config=lab.config_path).stdout)
        assert next(r for r in listed if r["run_id"] == world["run_id"])["integrity"] == "unsigned"

        done = drkit("failover", "--resume", world["run_id"], "--yes", "--trust-journal",
                     config=lab.config_path)
        assert done.returncode == 0, done.stderr
    finally:
        if not json.loads(world["path"].read_bytes()).get("mac"):
            world["path"].write_bytes(world["original"])
    # Committed exactly the plan, and the journal is signed from now on.
    for group in _commit_groups(_plan(data)):
        want = {p["partition"]: p["new_offset"] for p in group["partitions"]
                if p["action"] == "commit"}
        assert committed(lab.bootstrap("backup"), group["group"], world["remote"], PARTS) == want
    assert committed(lab.bootstrap("backup"), world["intruder"], world["remote"], PARTS) == {}
    final = json.loads(world["path"].read_text())
    assert final["status"] == "succeeded" and final["mac"].startswith("hmac-sha256:")
