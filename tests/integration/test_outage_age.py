"""Issue 16 §2 on the real lab: an unplanned failover decided an hour after the primary died.

MM2 checkpoints, then the primary is killed; drkit's clock is moved 60 minutes on with the
test-only DRKIT_NOW_MS (MM2 stamps its records itself, so their times cannot be faked). The
shipped runbook, unedited, must fail over; status, plan and preflight must agree (plan shows
the verdict and measures checkpoint ages from the same moment as the failover); with the
source up and the clock an hour on, the refusal is exit 3, names --max-checkpoint-age, that
flag lets it pass (in plan too), and the refused run leaves no lock behind.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from drkit.lab.lab import Lab
from tests.helpers import (
    committed,
    consume_and_commit,
    consume_from_committed,
    drkit,
    end_offsets,
    produce,
    read_all,
    topic_exists,
    wait_until,
)
from tests.integration.test_failover import _checkpointed, _group

PARTS = [0, 1, 2]
PER_PARTITION = 200
PARTLY = {0: 50, 1: 120, 2: 7}
REMOTE = "primary.orders"
HOUR_MS = 3_600_000


def _later() -> dict[str, str]:
    return {"DRKIT_NOW_MS": str(int(time.time() * 1000) + HOUR_MS)}


def _flow(status_doc: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in status_doc["flows"]
                if (f["source"], f["target"]) == ("primary", "backup"))


def _preflight(run_doc: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in run_doc["run"]["steps"] if s["id"] == "preflight")["outputs"]


def _plan(cfg: Any, env: dict[str, str], *flags: str) -> dict[str, Any]:
    res = drkit("plan", "--from", "primary", "--to", "backup", "-o", "json", *flags,
                config=cfg, env=env)
    assert res.returncode == 0, res.stderr  # a dry run: a readiness refusal is shown, not exit 3
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def _reasons(readiness: dict[str, Any]) -> list[str]:
    """The refusals with their numbers blanked (status and plan read a second or so apart)."""
    return [re.sub(r"\d+", "N", r) for r in readiness["refusals"]]


def _readiness_shown(table: str) -> str:
    """The plan table's readiness line, unwrapped."""
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  readiness: "))
    shown = [lines[start].strip()]
    for line in lines[start + 1:]:
        if not line.startswith("      "):  # the wrapped line's continuation indent
            break
        shown.append(line.strip())
    return " ".join(shown)


def test_outage_an_hour_old(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab: Lab = make_lab(dns=False)
    cfg = lab.config_path
    primary, backup = lab.bootstrap("primary"), lab.bootstrap("backup")
    records = [(p, f"k{p}-{i}".encode(), str(p * PER_PARTITION + i).encode())
               for p in PARTS for i in range(PER_PARTITION)]
    produce(primary, "orders", records)
    wait_until(lambda: topic_exists(backup, REMOTE)
               and sum(end_offsets(backup, REMOTE).values()) == len(records), 90,
               "records mirrored")
    source_seq = {(m.partition(), m.offset()): int(m.value()) for m in read_all(primary, "orders")}
    consume_and_commit(primary, "billing", "orders", PARTLY)
    wait_until(lambda: _checkpointed(lab, "primary.checkpoints.internal", {"billing": PARTLY},
                                     REMOTE), 90, "checkpoints for billing")
    assert drkit("plan", "--from", "primary", "--to", "backup", config=cfg).returncode == 0

    # Source UP, clock an hour on: refused (exit 3) naming the flag; the lock is released.
    later = _later()
    refused = drkit("failover", "--from", "primary", "--to", "backup", "--yes", config=cfg,
                    env=later)
    assert refused.returncode == 3, refused.stderr
    assert "preflight refused" in refused.stderr and "--max-checkpoint-age" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert "lock released" in refused.stderr
    # Nothing to undo: the last line says to fix it or pass the flag and run again, no rollback.
    last = refused.stderr.rstrip("\n").splitlines()[-1]
    assert "nothing to roll back" in last and "pass the override flag it names" in last, last
    assert last.endswith("run `drkit failover --from primary --to backup` again"), last
    assert "drkit runs rollback" not in refused.stderr
    assert committed(backup, "billing", REMOTE, PARTS) == {}  # nothing was committed
    # status and plan agree with that preflight at the same (moved) moment.
    st = drkit("status", "-o", "json", config=cfg, env=later)
    status_readiness = _flow(json.loads(st.stdout))["readiness"]
    assert status_readiness["ready"] is False, st.stdout
    assert "failover would be refused" in st.stdout
    plan = _plan(cfg, later)
    assert plan["readiness"]["ready"] is False and plan["readiness"]["source_reachable"] is True
    assert _reasons(plan["readiness"]) == _reasons(status_readiness)  # the same refusals
    said = re.sub(r"\d+", "N", refused.stderr)
    assert all(r in said for r in _reasons(plan["readiness"])), (plan, refused.stderr)
    assert any("--max-checkpoint-age" in r for r in plan["readiness"]["refusals"])
    table = drkit("plan", "--from", "primary", "--to", "backup", config=cfg, env=later)
    assert table.returncode == 0, table.stderr  # a dry run: readable plan, the verdict shown
    shown = _readiness_shown(table.stdout)
    assert "readiness: failover would be refused:" in shown, table.stdout
    assert "--max-checkpoint-age" in shown and "--max-heartbeat-age" in shown, table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 100
    # The flags that override preflight's limits make plan say ready too.
    passed = _plan(cfg, later, "--max-checkpoint-age", "7200", "--max-heartbeat-age", "7200")
    assert passed["readiness"]["ready"] is True, passed["readiness"]
    # The named flags work (an hour on, the heartbeat is an hour old too, so that limit is
    # named and passed as well); the refused run left no lock (no --force-unlock needed).
    # Without --yes and with no terminal the run stops at approval: still before any side
    # effect, so it gives its lock back as well.
    assert "--max-heartbeat-age" in refused.stderr
    ok = drkit("failover", "--from", "primary", "--to", "backup", "-o", "json",
               "--max-checkpoint-age", "7200", "--max-heartbeat-age", "7200", config=cfg,
               env=later)
    assert "preflight: ok" in ok.stderr and "preflight refused" not in ok.stderr, ok.stderr
    assert "translate: ok" in ok.stderr and "lock released" in ok.stderr, ok.stderr
    assert ok.returncode != 0 and committed(backup, "billing", REMOTE, PARTS) == {}

    # The primary dies; the decision comes an hour later, with the shipped runbook unedited.
    assert drkit("lab", "stop", "primary", "--kill", "--dir", str(lab.dir)).returncode == 0
    later = _later()
    st = drkit("status", "-o", "json", config=cfg, env=later)
    flow = _flow(json.loads(st.stdout))
    assert flow["readiness"]["ready"] is True, st.stdout
    assert flow["readiness"]["outage_age_s"] >= 3600 - 60
    plan = _plan(cfg, later)  # plan says what status says, and measures ages as the failover
    assert plan["readiness"]["ready"] is True and plan["readiness"]["source_reachable"] is False
    assert plan["readiness"]["outage_age_s"] >= 3600 - 60
    assert plan["readiness"]["checkpoint_age_s"] < 300
    ages = [p["checkpoint_age_s"] for p in _group(plan, "billing")["partitions"]
            if p["checkpoint_age_s"] is not None]
    assert ages and max(ages) < 300, ages  # from when replication stopped, not from now
    table = drkit("plan", "--from", "primary", "--to", "backup", config=cfg, env=later)
    assert table.returncode == 0, table.stderr
    assert "  readiness: ready:" in table.stdout and "replication stopped" in table.stdout
    res = drkit("failover", "--from", "primary", "--to", "backup", "--yes", "-o", "json",
                config=cfg, env=later)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    pre = _preflight(doc)["readiness"]
    assert pre["ready"] is True and pre["source_reachable"] is False
    assert pre["outage_age_s"] >= 3600 - 60  # reported as RPO evidence, not a refusal
    assert pre["checkpoint_age_s"] < 300  # judged when replication stopped
    assert "replication stopped" in res.stderr
    # Nothing lost: consuming from the committed offsets on backup sees every record after
    # what billing had processed on the primary.
    plan_offsets = {p["partition"]: p["new_offset"] for p in _group(doc, "billing")["partitions"]
                    if p["action"] == "commit"}
    assert plan_offsets and committed(backup, "billing", REMOTE, PARTS) == plan_offsets
    before = {seq for (p, o), seq in source_seq.items() if o < PARTLY[p]}
    after = [int(m.value()) for m in consume_from_committed(backup, "billing", REMOTE, PARTS)]
    assert before | set(after) == set(source_seq.values()), "records lost"
    predicted = sum(p["expected_duplicates"] for p in _group(doc, "billing")["partitions"]
                    if p["action"] == "commit")
    assert len(before & set(after)) <= predicted  # MM2's translation errs toward re-delivery


def test_no_checkpointed_group_is_said_plainly(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab: Lab = make_lab(dns=False)
    assert drkit("lab", "stop", "primary", "--kill", "--dir", str(lab.dir)).returncode == 0
    res = drkit("failover", "--from", "primary", "--to", "backup", "--yes",
                config=lab.config_path, env=_later())
    out = res.stdout + res.stderr
    assert "no consumer group has an MM2 checkpoint" in out, out
    assert "never seen" not in out
    assert res.returncode == 0, out
