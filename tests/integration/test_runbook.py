"""The failover runbook on a real lab: crashes, resumes, locks, MM2's own sync, secrets.

Crash tests SIGKILL the drkit process at every step boundary and in the middle of the commit
step (via DRKIT_FAILPOINT, a real SIGKILL), then resume it. Each case has its own groups, which
commit exactly what a reference set of groups commits; the reference set fails over in one
uninterrupted run, and the resumed run must end with the same offsets and no extra commits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from drkit.config import load_settings
from drkit.lab.lab import Lab
from drkit.lab.ready import create_topics
from drkit.mm2.reader import read_checkpoints
from tests.helpers import (
    checkpointed,
    committed,
    consume_and_commit,
    drkit,
    end_offsets,
    mirrored_topic,
    offset_commit_counts,
    produce,
    topic_exists,
    wait_until,
)

STEPS = ["preflight", "neutralise-mm2", "translate", "approve", "commit", "dns", "verify"]
CRASHES = [f"after:{s}" for s in STEPS[:-1]] + [
    "before:preflight", "commit-batch:2", "commit-unsaved:2"]
GROUPS_PER_SET = 12
PARTS = [0, 1, 2]

BATCHED_RUNBOOK = """name = "failover"
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
with = { batch = 3 }
[[steps]]
id = "dns"
uses = "dns-flip"
[[steps]]
id = "verify"
uses = "verify"
"""


def _offsets(i: int) -> dict[int, int]:
    return {p: (7 * i + 13 * p) % 40 + 1 for p in PARTS}


def _set_name(case: str) -> str:
    return case.replace(":", "-").replace("_", "-")


@pytest.fixture(scope="module")
def crash_world(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One topic, a reference set and one set of groups per crash case, all checkpointed."""
    tag = uuid.uuid4().hex[:5]
    topic = f"orders.crash{tag}"
    remote = f"primary.{topic}"
    create_topics(lab.bootstrap("primary"), {topic: 3})
    produce(lab.bootstrap("primary"), topic, [(p, b"k", f"{p}-{i}".encode())
                                              for p in PARTS for i in range(40)])
    wait_until(lambda: topic_exists(lab.bootstrap("backup"), remote)
               and sum(end_offsets(lab.bootstrap("backup"), remote).values()) == 120, 90,
               f"{remote} mirrored")
    sets = ["ref", *(_set_name(c) for c in CRASHES)]
    for s in sets:
        for i in range(GROUPS_PER_SET):
            consume_and_commit(lab.bootstrap("primary"), f"{tag}-{s}-{i:02d}", topic, _offsets(i))
    settings = load_settings(lab.config_path)
    cfg = settings.cluster("backup").usable_client_config()
    wanted = {f"{tag}-{s}-{i:02d}" for s in sets for i in range(GROUPS_PER_SET)}

    def all_checkpointed() -> bool:
        idx = read_checkpoints(cfg, "primary.checkpoints.internal", "backup", timeout_s=30)
        return all(len(idx.by_group.get(g, {})) == 3 for g in wanted)

    wait_until(all_checkpointed, 120, f"checkpoints for {len(wanted)} groups")
    runbook = tmp_path_factory.mktemp("runbooks") / "batched.toml"
    runbook.write_text(BATCHED_RUNBOOK)
    ref = drkit("failover", "--from", "primary", "--to", "backup", "--group", f"{tag}-ref-.*",
                "--runbook", str(runbook), "--yes", config=lab.config_path)
    assert ref.returncode == 0, ref.stderr
    reference = {i: committed(lab.bootstrap("backup"), f"{tag}-ref-{i:02d}", remote, PARTS)
                 for i in range(GROUPS_PER_SET)}
    assert all(len(o) == 3 for o in reference.values())
    return {"tag": tag, "remote": remote, "reference": reference, "runbook": runbook}


def _runs(lab: Lab) -> list[dict[str, Any]]:
    res = drkit("runs", "list", "-o", "json", config=lab.config_path)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("crash", CRASHES)
def test_killed_run_resumes_to_the_same_offsets_with_no_extra_commits(
        lab: Lab, crash_world: dict[str, Any], crash: str) -> None:
    tag, remote = crash_world["tag"], crash_world["remote"]
    prefix = f"{tag}-{_set_name(crash)}-"
    args = ["failover", "--from", "primary", "--to", "backup", "--group", f"{prefix}.*",
            "--runbook", str(crash_world["runbook"]), "--yes"]
    killed = drkit(*args, config=lab.config_path, env={"DRKIT_FAILPOINT": crash})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = next(r for r in _runs(lab) if r["status"] == "running"
               and r["run_id"] in killed.stderr)
    # A second run for the same clusters is refused while the dead run holds the lock.
    blocked = drkit(*args, config=lab.config_path)
    assert blocked.returncode == 3 and "stale lock" in blocked.stderr

    # A run started with --runbook FILE is resumed with the same file: drkit never opens the
    # path the journal names (docs/security.md).
    resumed = drkit("failover", "--resume", run["run_id"], "--runbook",
                    str(crash_world["runbook"]), "--yes", config=lab.config_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "SUCCEEDED" in resumed.stdout
    for i in range(GROUPS_PER_SET):
        got = committed(lab.bootstrap("backup"), f"{prefix}{i:02d}", remote, PARTS)
        assert got == crash_world["reference"][i], f"group {i} after {crash}"
    counts = offset_commit_counts(lab.bootstrap("backup"),
                                  {f"{prefix}{i:02d}" for i in range(GROUPS_PER_SET)})
    assert len(counts) == GROUPS_PER_SET * 3
    assert set(counts.values()) == {1}, f"extra commits after {crash}: {counts}"
    journal = json.loads(Path(run["path"]).read_text())
    assert journal["status"] == "succeeded" and len(journal["resumed"]) == 1
    if crash.startswith("commit-"):
        commit = next(s for s in journal["steps"] if s["id"] == "commit")
        assert commit["attempts"] == 2  # re-entered on resume
        notes = [g.get("note") for g in commit["outputs"]["groups"].values()]
        # Batches of 3: the second batch was on the broker but not in the journal when killed,
        # so the resumed step found those groups already in place instead of committing again.
        assert notes.count("already in place") == (3 if crash == "commit-unsaved:2" else 0)


def test_ctrl_c_inside_a_step_leaves_a_resumable_journal(lab: Lab, tmp_path: Path) -> None:
    marker = tmp_path / "go"
    runbook = tmp_path / "slow.toml"
    runbook.write_text(BATCHED_RUNBOOK.replace('''[[steps]]
id = "translate"''', f'''[[steps]]
id = "wait"
uses = "exec"
with = {{ command = ["sh", "-c", "while [ ! -f {marker} ]; do sleep 0.1; done"] }}
[[steps]]
id = "translate"'''))
    env = {**os.environ, "DRKIT_CONFIG": str(lab.config_path)}
    proc = subprocess.Popen(["drkit", "failover", "--from", "primary", "--to", "backup",
                             "--group", "nobody-.*", "--runbook", str(runbook), "--yes"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def waiting_run() -> dict[str, Any] | None:
            for r in _runs(lab):
                if r["status"] == "running" and r["current_step"] == "wait":
                    return r
            return None

        run = wait_until(waiting_run, 60, "the run to reach its exec step")
        # Meanwhile, a second failover for the same clusters is refused: the first is alive.
        second = drkit("failover", "--from", "primary", "--to", "backup", "--yes",
                       config=lab.config_path)
        assert second.returncode == 3
        assert f"run {run['run_id']} by " in second.stderr
        assert "is in progress since" in second.stderr
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    journal = json.loads(Path(run["path"]).read_text())
    assert journal["status"] == "interrupted"
    assert next(s for s in journal["steps"] if s["id"] == "wait")["status"] == "interrupted"
    marker.touch()
    resumed = drkit("failover", "--resume", run["run_id"], "--runbook", str(runbook), "--yes",
                    config=lab.config_path)
    assert resumed.returncode == 0, resumed.stderr


def test_damaged_journal_and_bad_runbook_are_clear_errors(lab: Lab, tmp_path: Path) -> None:
    killed = drkit("failover", "--from", "primary", "--to", "backup", "--group", "nobody-.*",
                   "--yes", config=lab.config_path, env={"DRKIT_FAILPOINT": "after:translate"})
    assert killed.returncode == -signal.SIGKILL
    run = next(r for r in _runs(lab) if r["run_id"] in killed.stderr)
    path = Path(run["path"])
    original = path.read_bytes()
    path.write_bytes(original[: len(original) // 2])
    for args in (("runs", "show", run["run_id"]), ("failover", "--resume", run["run_id"], "-y")):
        res = drkit(*args, config=lab.config_path)
        assert res.returncode == 1, res.stderr
        assert res.stderr.count("\n") == 1 and str(path) in res.stderr
        assert "never overwrites" in res.stderr
    assert path.read_bytes() == original[: len(original) // 2]  # left untouched
    listed = [r for r in _runs(lab) if r["run_id"] == run["run_id"]]
    assert listed and listed[0]["status"] == "damaged"
    path.write_bytes(original)  # repaired by the operator: the run can be finished
    assert drkit("failover", "--resume", run["run_id"], "-y",
                 config=lab.config_path).returncode == 0

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[steps]]\nid = "flip"\nuses = "dns-flp"\n')
    res = drkit("failover", "--from", "primary", "--to", "backup", "--runbook", str(bad), "-y",
                config=lab.config_path)
    assert res.returncode == 2 and 'step "flip"' in res.stderr and "dns-flip" in res.stderr
    bad.write_text('name = "x"\n[[steps]]\nid = "c"\nuses = "commit"\nwith = { batch = "9" }\n')
    res = drkit("failover", "--from", "primary", "--to", "backup", "--runbook", str(bad), "-y",
                config=lab.config_path)
    assert res.returncode == 2 and 'field "batch"' in res.stderr


def test_rollback_restores_the_snapshot(lab: Lab) -> None:
    topic, remote = mirrored_topic(lab, "rb", 1, 30)
    fresh, known = f"rb-fresh-{uuid.uuid4().hex[:4]}", f"rb-known-{uuid.uuid4().hex[:4]}"
    for g in (fresh, known):
        consume_and_commit(lab.bootstrap("primary"), g, topic, {0: 30})
    consume_and_commit(lab.bootstrap("backup"), known, remote, {0: 5})  # an earlier commit
    wait_until(lambda: checkpointed(lab, {fresh, known}), 90, "checkpoints")
    res = drkit("failover", "--from", "primary", "--to", "backup", "--group", f"{fresh}|{known}",
                "--yes", "-o", "json", config=lab.config_path)
    assert res.returncode == 0, res.stderr
    run_id = json.loads(res.stdout)["run"]["run_id"]
    assert committed(lab.bootstrap("backup"), known, remote, [0]) == {0: 30}
    rb = drkit("runs", "rollback", run_id, "--yes", "-o", "json", config=lab.config_path)
    assert rb.returncode == 0, rb.stderr
    data = json.loads(rb.stdout)
    assert data["restored"] == [known] and data["deleted"] == [fresh]
    assert committed(lab.bootstrap("backup"), known, remote, [0]) == {0: 5}
    assert committed(lab.bootstrap("backup"), fresh, remote, [0]) == {}


def test_mm2_offset_sync_is_refused_until_mm2_is_stopped(make_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    canary = f"s3cr3t-canary-{uuid.uuid4().hex[:8]}"
    lab: Lab = make_lab(dns=False, sync_group_offsets=True,
                        extra={"sasl.jaas.config": "org.apache.kafka.common.security.plain."
                               f'PlainLoginModule required username="drkit" password="{canary}";'})
    produce(lab.bootstrap("primary"), "orders", [(p, b"k", b"v") for p in PARTS for _ in range(9)])
    consume_and_commit(lab.bootstrap("primary"), "synced", "orders", {0: 9, 1: 4, 2: 2})
    cfg = load_settings(lab.config_path).cluster("backup").usable_client_config()
    wait_until(lambda: "synced" in read_checkpoints(cfg, "primary.checkpoints.internal",
                                                    "backup", timeout_s=30).by_group, 90,
               "checkpoints")
    refused = drkit("failover", "--from", "primary", "--to", "backup", "--yes",
                    config=lab.config_path)
    assert refused.returncode == 3, refused.stderr
    assert "MM2 is syncing group offsets into backup" in refused.stderr
    run = next(r for r in _runs(lab) if r["run_id"] in refused.stderr)
    steps = {s["id"]: s["status"] for s in json.loads(Path(run["path"]).read_text())["steps"]}
    assert steps["neutralise-mm2"] == "failed" and steps["commit"] == "pending"

    runbook = tmp_path / "stop-mm2.toml"
    runbook.write_text(BATCHED_RUNBOOK.replace('''[[steps]]
id = "neutralise-mm2"''', f'''[[steps]]
id = "stop-mm2"
uses = "exec"
with = {{ command = ["drkit", "lab", "stop", "mm2", "--dir", "{lab.dir}"] }}
[[steps]]
id = "neutralise-mm2"'''))
    done = drkit("failover", "--from", "primary", "--to", "backup", "--runbook", str(runbook),
                 "--yes", "--force-unlock", config=lab.config_path)
    assert done.returncode == 0, done.stderr
    assert not lab.state.running("mm2")
    assert committed(lab.bootstrap("backup"), "synced", "primary.orders", PARTS)

    # The canary password from mm2.properties never reaches the state dir or the output.
    state_dir = lab.dir / ".drkit"
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert canary not in path.read_text(errors="replace"), path
    for res in (refused, done):
        assert canary not in res.stdout + res.stderr
    show = drkit("runs", "show", run["run_id"], "-o", "json", config=lab.config_path)
    assert canary not in show.stdout


def test_failover_flips_dns_on_bind_and_rollback_restores_it(lab: Lab) -> None:
    if not lab.state.dns:
        if os.environ.get("DRKIT_REQUIRE_BIND") == "1":
            raise AssertionError("the lab has no BIND although DRKIT_REQUIRE_BIND=1")
        pytest.skip("named is not installed: no DNS in the lab")
    from drkit.dns.base import RecordSet
    from drkit.dns.flip import provider_for
    from drkit.dns.settings import dns_settings

    settings = load_settings(lab.config_path)
    conf = dns_settings(settings)
    assert conf is not None
    provider = provider_for(conf)
    spec = conf.records[0]
    primary_value = spec.for_cluster("primary")
    current = provider.get(spec.name, spec.type)
    if not primary_value.same_values(current):  # an earlier test's failover moved it
        provider.change(current, RecordSet(spec.name, spec.type, 60, primary_value.values))
    res = drkit("failover", "--from", "primary", "--to", "backup", "--group", "no-group-.*",
                "--yes", "-o", "json", config=lab.config_path)
    assert res.returncode == 0, res.stderr
    run = json.loads(res.stdout)["run"]
    flip = next(s for s in run["steps"] if s["uses"] == "dns-flip")["outputs"]["records"]
    record = flip[spec.name]
    assert record["before"]["values"] == list(primary_value.values)
    assert record["after"]["values"] == list(spec.for_cluster("backup").values)
    assert record["status"] == "applied"
    assert set(record["verified"]["servers"].values()) == {"new"}
    shown = json.loads(drkit("dns", "show", "-o", "json", config=lab.config_path).stdout)
    assert shown[0]["points_at"] == "backup"

    again = drkit("failover", "--from", "primary", "--to", "backup", "--group", "no-group-.*",
                  "--yes", "-o", "json", config=lab.config_path)
    assert again.returncode == 0, again.stderr
    second = next(s for s in json.loads(again.stdout)["run"]["steps"] if s["uses"] == "dns-flip")
    assert second["outputs"]["records"][spec.name]["status"] == "already"

    # The second run also holds the record (it found it flipped): rolling back the first one
    # is refused while the second stands; once the second is rolled back, it goes through.
    again_id = json.loads(again.stdout)["run"]["run_id"]
    refused = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
    assert refused.returncode == 3 and again_id in refused.stderr, refused.stderr
    assert drkit("runs", "rollback", again_id, "--yes", config=lab.config_path).returncode == 0
    rb = drkit("runs", "rollback", run["run_id"], "--yes", config=lab.config_path)
    assert rb.returncode == 0, rb.stderr
    assert "restored to kafka-primary.example.test." in rb.stdout
    shown = json.loads(drkit("dns", "show", "-o", "json", config=lab.config_path).stdout)
    assert shown[0]["points_at"] == "primary"

    # Killed between the DNS change and its verification: resume verifies, changes nothing.
    killed = drkit("failover", "--from", "primary", "--to", "backup", "--group", "no-group-.*",
                   "--yes", config=lab.config_path, env={"DRKIT_FAILPOINT": "dns-changed"})
    assert killed.returncode == -signal.SIGKILL
    run_id = next(r["run_id"] for r in _runs(lab) if r["run_id"] in killed.stderr)
    assert json.loads(drkit("dns", "show", "-o", "json",
                            config=lab.config_path).stdout)[0]["points_at"] == "backup"
    resumed = drkit("failover", "--resume", run_id, "--yes", "-o", "json",
                    config=lab.config_path)
    assert resumed.returncode == 0, resumed.stderr
    step = next(s for s in json.loads(resumed.stdout)["run"]["steps"] if s["uses"] == "dns-flip")
    rec = step["outputs"]["records"][spec.name]
    assert rec["before"]["values"] == list(primary_value.values)  # kept from the first attempt
    assert rec["status"] == "applied" and step["attempts"] == 2
    assert set(rec["verified"]["servers"].values()) == {"new"}
