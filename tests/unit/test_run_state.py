"""The run journal, the per-target lock and the audit log, on real files and real processes.

A failover's journal is the only memory a resumed run has; these tests damage it every way an
editor, a full disk or a killed process can, race real processes for the lock, and check that a
canary secret never reaches any file under the state dir.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drkit.errors import EXIT_UNSAFE, LockedError, StateError
from drkit.runbook.audit import AuditLog
from drkit.runbook.lock import LockHolder, RunLock, holder_alive, lock_stem, pid_start_ticks
from drkit.runbook.state import DamagedRun, Journal, RunState, RunSummary, StepState, new_run_id

CANARY = "s3cr3t-canary-Zq9"
KEY = "primary->backup"
REPO = Path(__file__).resolve().parents[2]
RUN_ID = "20261125T204501Z-failover-primary-backup-3f9a1c"


def make_run(run_id: str = RUN_ID, created_at: str = "2026-11-25T20:45:01.000Z") -> RunState:
    return RunState(
        run_id=run_id, kind="failover", runbook="failover", runbook_path="/rb/failover.toml",
        runbook_digest="ab" * 32, source="primary", target="backup",
        args={"planned": False, "groups": ["g1", "g2"]}, who="ops@laptop", host="laptop",
        pid=4242, created_at=created_at, updated_at=created_at, status="running",
        steps=[
            StepState("preflight", "preflight", "succeeded", created_at, created_at, 1,
                      {"summary": "ok", "lag": {"orders-0": 3}}),
            StepState("commit", "commit", "running", created_at, None, 2),
            StepState("dns", "dns-flip"),
        ],
        approvals=[{"who": "ops@laptop", "method": "--yes", "at": created_at}],
        resumed=[{"who": "oncall@desk", "pid": 99, "at": created_at}],
    )


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- model -------------------------------------------------------------------------------------


def test_run_id_sorts_by_time_and_is_a_safe_file_name() -> None:
    def at(second: int) -> datetime:
        return datetime(2026, 11, 25, 20, 45, second, tzinfo=UTC)

    early = new_run_id("failover", "primary", "backup", at(1))
    late = new_run_id("failover", "primary", "backup", at(2))
    assert re.fullmatch(r"20261125T204501Z-failover-primary-backup-[0-9a-f]{6}", early)
    assert early < late
    odd = new_run_id("drill", "eu/west 1", "../us:east")
    assert "/" not in odd and " " not in odd and ":" not in odd and not odd.startswith(".")
    assert len({new_run_id("failover", "a", "b") for _ in range(50)}) == 50


def test_round_trip_through_dict_and_file(tmp_path: Path) -> None:
    run = make_run()
    assert RunState.from_dict(json.loads(json.dumps(run.to_dict()))) == run
    journal = Journal(tmp_path)
    journal.save(run)
    assert journal.load(RUN_ID) == run
    assert run.step("commit").attempts == 2
    with pytest.raises(StateError, match=r"has no step 'nope'.*preflight, commit, dns"):
        run.step("nope")


def test_from_dict_names_the_source_and_the_field() -> None:
    data = make_run().to_dict()
    data["steps"][1]["status"] = "donee"
    with pytest.raises(StateError) as info:
        RunState.from_dict(data, source="/x/run.json")
    assert str(info.value).startswith("/x/run.json: field steps[1].status: unknown value 'donee'")


# --- atomic, private writes --------------------------------------------------------------------


def test_save_is_atomic_private_and_leaves_no_temp_files(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    old_umask = os.umask(0)  # modes must not depend on the operator's umask
    try:
        journal = Journal(state_dir)
        run = make_run()
        for attempt in range(5):
            run.step("commit").attempts = attempt
            journal.save(run)
    finally:
        os.umask(old_umask)
    path = state_dir / "runs" / f"{RUN_ID}.json"
    assert sorted(p.name for p in (state_dir / "runs").iterdir()) == [path.name]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((state_dir / "runs").stat().st_mode) == 0o700
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["steps"][1]["attempts"] == 4
    assert run.updated_at != run.created_at  # save stamps it
    assert journal.load(RUN_ID).updated_at == run.updated_at


def test_create_never_replaces_another_run(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.create(make_run())
    with pytest.raises(StateError, match="already exists"):
        journal.create(make_run())


def test_save_refuses_state_that_could_not_be_read_back(tmp_path: Path) -> None:
    run = make_run()
    run.step("dns").status = "done"  # type: ignore[assignment]
    with pytest.raises(StateError, match=r"refusing to write an invalid journal.*steps\[2\]"):
        Journal(tmp_path).save(run)
    run = make_run()
    run.step("dns").outputs = {"when": object()}
    with pytest.raises(StateError, match="not plain JSON data"):
        Journal(tmp_path).save(run)
    assert not (tmp_path / "runs" / f"{RUN_ID}.json").exists()


def test_missing_run_says_how_to_find_runs(tmp_path: Path) -> None:
    with pytest.raises(StateError) as info:
        Journal(tmp_path).load("20260101T000000Z-failover-a-b-000000")
    assert str(info.value) == (
        f"no run 20260101T000000Z-failover-a-b-000000 in {tmp_path / 'runs'}; "
        "`drkit runs list` shows the runs"
    )
    with pytest.raises(StateError, match="not a run id"):
        Journal(tmp_path).load("../../etc/passwd")


# --- damaged journals --------------------------------------------------------------------------


def _edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[bytes], bytes]:
    """A hand edit: ``change`` alters the parsed journal in place."""

    def apply(raw: bytes) -> bytes:
        data = json.loads(raw)
        change(data)
        return json.dumps(data, indent=2).encode()

    return apply


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated": (lambda raw: raw[: len(raw) // 2], "truncated?"),
    "truncated-in-a-string": (lambda raw: raw[: raw.index(b'"backup"') + 3], "truncated?"),
    "not-json": (lambda raw: b"this is not json\n", "not valid JSON at line 1 column 1"),
    "empty": (lambda raw: b"", "the file is empty"),
    "not-utf8": (lambda raw: b"\xff\xfe" + raw, "not UTF-8"),
    "top-level-list": (lambda raw: b"[1, 2]", "(top level): must be an object, not a list"),
    "wrong-type": (_edit(lambda d: d.update(pid="4242")), "field pid: must be a whole number"),
    "wrong-step-type": (
        _edit(lambda d: d["steps"][1].update(attempts=True)),
        "field steps[1].attempts: must be a whole number",
    ),
    "outputs-not-object": (
        _edit(lambda d: d["steps"][0].update(outputs=[])),
        "field steps[0].outputs: must be an object, not a list",
    ),
    "unknown-step-status": (
        _edit(lambda d: d["steps"][0].update(status="done")),
        "field steps[0].status: unknown value 'done'",
    ),
    "unknown-run-status": (
        _edit(lambda d: d.update(status="paused")),
        "field status: unknown value 'paused'",
    ),
    "missing-field": (_edit(lambda d: d.pop("source")), "field source: is missing"),
    "missing-step-field": (
        _edit(lambda d: d["steps"][2].pop("uses")),
        "field steps[2].uses: is missing",
    ),
    "unknown-field": (_edit(lambda d: d.update(sourse="x")), "field sourse: is not a field"),
    "bad-time": (
        _edit(lambda d: d.update(created_at="yesterday")),
        "field created_at: 'yesterday' is not an ISO-8601 time",
    ),
    "duplicate-step": (
        _edit(lambda d: d["steps"][2].update(id="commit")),
        "field steps[2].id: 'commit' appears twice",
    ),
    "newer-format": (_edit(lambda d: d.update(format=2)), "field format: is 2"),
    "other-run": (
        _edit(lambda d: d.update(run_id="20261125T000000Z-drill-a-b-000000")),
        "holds run 20261125T000000Z-drill-a-b-000000",
    ),
}


@pytest.fixture
def saved(tmp_path: Path) -> Iterator[tuple[Journal, Path]]:
    journal = Journal(tmp_path)
    journal.save(make_run())
    yield journal, tmp_path / "runs" / f"{RUN_ID}.json"


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_journal_gives_a_clear_error_and_is_left_untouched(
    saved: tuple[Journal, Path], case: str
) -> None:
    writer, path = saved
    damage, expected = DAMAGE[case]
    path.write_bytes(damage(path.read_bytes()))
    before = path.read_bytes(), path.stat().st_mtime_ns

    with pytest.raises(StateError) as info:
        Journal(path.parent.parent).load(RUN_ID)
    message = str(info.value)
    assert message.startswith(f"run journal {path} is damaged (")
    assert expected in message
    assert message.endswith(
        "it was left untouched; fix or move it away; drkit never overwrites a damaged journal"
    )

    # Neither a new Journal (a resume) nor the one that wrote it last may replace it.
    for journal in (Journal(path.parent.parent), writer):
        with pytest.raises(StateError, match=f"refusing to save run {RUN_ID}: run journal"):
            journal.save(make_run())
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files either


def test_a_valid_journal_written_by_another_process_may_be_saved_over(
    saved: tuple[Journal, Path],
) -> None:
    _, path = saved
    other = Journal(path.parent.parent)
    run = other.load(RUN_ID)
    run.status = "succeeded"
    other.save(run)
    assert Journal(path.parent.parent).load(RUN_ID).status == "succeeded"


# --- listing -----------------------------------------------------------------------------------


def test_list_runs_newest_first_with_damaged_entries(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    ids = {
        "old": ("20261101T000000Z-drill-primary-backup-aaaaaa", "2026-11-01T00:00:00.000Z"),
        "new": ("20261125T000000Z-failover-primary-backup-aaaaaa", "2026-11-25T00:00:00.000Z"),
        "tie": ("20261125T000000Z-failover-primary-backup-bbbbbb", "2026-11-25T00:00:00.000Z"),
    }
    for run_id, created in ids.values():
        run = make_run(run_id, created)
        run.kind = run_id.split("-")[1]
        journal.save(run)
    broken = tmp_path / "runs" / "20261110T000000Z-failover-primary-backup-cccccc.json"
    broken.write_text('{"run_id": "20261110T0')
    when = time.mktime((2026, 11, 10, 12, 0, 0, 0, 0, 0)) - time.timezone
    os.utime(broken, (when, when))
    (tmp_path / "runs" / ".leftover.json.1234.tmp").write_text("{")

    entries = journal.list_runs()
    assert [e.run_id for e in entries] == [
        ids["tie"][0], ids["new"][0], broken.stem, ids["old"][0],
    ]
    damaged = entries[2]
    assert isinstance(damaged, DamagedRun) and damaged.status == "damaged"
    assert "truncated?" in damaged.error and damaged.path == str(broken)
    summary = entries[0]
    assert isinstance(summary, RunSummary)
    assert (summary.steps_total, summary.steps_done, summary.current_step) == (3, 1, "commit")
    assert json.loads(json.dumps([e.to_dict() for e in entries]))  # --output json
    assert Journal(tmp_path / "nothing-here").list_runs() == []


# --- secrets -----------------------------------------------------------------------------------


def test_secret_canary_never_reaches_the_journal_or_the_audit_log(tmp_path: Path) -> None:
    jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
            'username="drkit" password="jaas-pass-777";')
    odd = 'p"ä\\ss-wörd-1'  # JSON-escaped on disk: must not get through escaped either
    leaks = [CANARY, "other-secret-123", "jaas-pass-777", odd]
    journal = Journal(tmp_path, secrets=[CANARY, odd, ""])
    run = make_run()
    run.args.update({
        "note": f"pw={CANARY}", "sasl.password": "other-secret-123",
        "client": {"sasl.jaas.config": jaas},
    })
    run.step("commit").outputs = {
        "stdout": f"connecting with {CANARY} and {odd}",
        "message": "other-secret-123 / jaas-pass-777",
        "command": ["kcat", "-X", f"sasl.password={CANARY}"],
    }
    run.step("commit").error = f"auth failed for {CANARY}"
    run.approvals.append({"who": "ops", "token": CANARY})
    journal.save(run)
    audit = AuditLog(tmp_path, secrets=[CANARY, odd])
    audit.append(RUN_ID, "exec-output", who="ops@laptop", output=f"{CANARY} {odd}",
                 config={"ssl.key.password": "other-secret-123"}, error="other-secret-123")

    for name, content in files_under(tmp_path).items():
        for secret in leaks:
            forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
            for form in forms:
                assert form.encode() not in content, f"{secret!r} leaked into {name}"
    stored = journal.load(RUN_ID)
    assert stored.args["sasl.password"] == "***"
    assert stored.args["note"] == "pw=***"
    assert stored.step("commit").outputs["command"][2] == "sasl.password=***"
    assert stored.step("commit").error == "auth failed for ***"
    assert stored.step("preflight").outputs == run.step("preflight").outputs  # the rest is kept
    assert stored.runbook_digest == run.runbook_digest
    (event,) = audit.read(RUN_ID)
    assert event["output"] == "*** ***" and event["config"] == {"ssl.key.password": "***"}


def test_group_names_that_look_secret_do_not_erase_their_data(tmp_path: Path) -> None:
    """Keys in outputs are often group names; ``token-service`` is a group, not a token."""
    journal = Journal(tmp_path)
    run = make_run()
    outputs = {
        "snapshot": {"token-service": [["orders", 0, 41]], "password-reset": [["users", 1, 7]]},
        "groups": {"token-service": {"outcome": "committed"}, "plain": {"outcome": "committed"}},
        "by_group": {"secret-santa": 3},
    }
    run.step("commit").outputs = json.loads(json.dumps(outputs))
    journal.save(run)
    assert journal.load(RUN_ID).step("commit").outputs == outputs


# --- audit log ---------------------------------------------------------------------------------


def test_audit_log_appends_private_lines_and_reports_corrupt_ones(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "state")
    first = audit.append("run-a", "run-started", who="ops@laptop", runbook="failover")
    audit.append("run-b", "run-started", who="dev@desk")
    assert set(first) == {"at", "run_id", "event", "who", "runbook"}
    assert stat.S_IMODE(audit.path.stat().st_mode) == 0o600
    with audit.path.open("ab") as f:  # a crash mid-line: no newline at the end
        f.write(b'{"at": "2026-11-25T00:00:00.000Z", "run_id": "run-a", "ev')
    audit.append("run-a", "approved", who="ops@laptop", at="ignored: the log keeps its own")

    events = audit.read()
    assert [e["event"] for e in events] == [
        "run-started", "run-started", "corrupt-line", "approved",
    ]
    assert events[2]["line"] == 3 and "not valid JSON" in events[2]["error"]
    assert events[3]["at"] != "ignored: the log keeps its own"
    assert [e["event"] for e in audit.read("run-a")] == ["run-started", "corrupt-line", "approved"]
    assert [e["event"] for e in audit.read("run-b")] == ["run-started"]
    assert AuditLog(tmp_path / "none").read() == []


def test_audit_lines_from_concurrent_processes_never_interleave(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom drkit.runbook.audit import AuditLog\n"
        "log = AuditLog(sys.argv[1])\n"
        "for i in range(40):\n"
        "    log.append(sys.argv[2], 'tick', who='w', i=i, pad='x' * 3000)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), f"run-{n}"], cwd=REPO)
        for n in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    events = AuditLog(tmp_path).read()
    assert len(events) == 160 and all(e["event"] == "tick" for e in events)
    for n in range(4):
        assert [e["i"] for e in events if e["run_id"] == f"run-{n}"] == list(range(40))


# --- lock --------------------------------------------------------------------------------------

HOLDER = """
import sys
from drkit.runbook.lock import RunLock
RunLock(sys.argv[1], sys.argv[2], sys.argv[3], "ops@laptop").acquire()
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A real process holding the lock for KEY as run ``run-held`` until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), KEY, "run-held"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def _since(state_dir: Path) -> str:
    raw = (state_dir / "locks" / f"{lock_stem(KEY)}.lock").read_bytes()
    return LockHolder.from_json(raw).since


def test_second_acquirer_is_refused_while_the_holder_runs(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    expected = (
        f"run run-held by ops@laptop is in progress since {_since(tmp_path)} (pid {holder.pid}); "
        "wait for it, or look at `drkit runs show run-held`"
    )
    lock = RunLock(tmp_path, KEY, "run-new", "dev@desk")
    for kwargs in ({}, {"force_unlock": True}, {"allow_run_id": "run-held"}):
        with pytest.raises(LockedError) as info:
            lock.acquire(**kwargs)
        assert str(info.value) == expected
        assert info.value.exit_code == EXIT_UNSAFE == 3
    assert not lock.held
    lock.release()  # not ours: must not remove it
    assert _since(tmp_path)
    RunLock(tmp_path, "primary->other", "run-other", "dev@desk").acquire()  # other targets: free


def test_killed_holder_leaves_a_stale_lock_that_needs_resume_or_force(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    stale = (
        f"stale lock: run run-held by ops@laptop (pid {holder.pid}) is no longer running; "
        "resume it with `drkit failover --resume run-held` or take over with --force-unlock"
    )
    lock = RunLock(tmp_path, KEY, "run-new", "dev@desk")
    for _ in range(100):  # until the kernel has made it a zombie (not yet reaped: still stale)
        if holder_alive(_holder_of(tmp_path), socket.gethostname()) is False:
            break
        time.sleep(0.02)
    with pytest.raises(LockedError) as info:
        lock.acquire()
    assert str(info.value) == stale
    holder.wait(timeout=10)  # reaped: the pid is gone altogether
    with pytest.raises(LockedError) as info:
        lock.acquire()
    assert str(info.value) == stale

    taken = lock.acquire(force_unlock=True)
    assert taken.forced and bool(taken) and taken.took_over
    assert taken.previous is not None and taken.previous.run_id == "run-held"
    assert taken.previous.pid == holder.pid
    assert _holder_of(tmp_path).run_id == "run-new" and lock.held
    assert lock.release() and not (tmp_path / "locks" / f"{lock_stem(KEY)}.lock").exists()


def test_resume_of_the_same_run_takes_over_its_own_stale_lock(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.kill()
    holder.wait(timeout=10)
    lock = RunLock(tmp_path, KEY, "run-held", "oncall@desk")
    with pytest.raises(LockedError, match="stale lock"):
        RunLock(tmp_path, KEY, "run-new", "x@y").acquire(allow_run_id="run-new")
    taken = lock.acquire(allow_run_id="run-held")
    assert not taken.forced and not bool(taken) and taken.took_over
    assert taken.previous is not None and taken.previous.who == "ops@laptop"
    held = _holder_of(tmp_path)
    assert (held.run_id, held.who, held.pid) == ("run-held", "oncall@desk", os.getpid())
    assert held.pid_start_ticks == pid_start_ticks(os.getpid())


def _holder_of(state_dir: Path) -> LockHolder:
    return LockHolder.from_json((state_dir / "locks" / f"{lock_stem(KEY)}.lock").read_bytes())


def _plant(state_dir: Path, **fields: Any) -> None:
    RunLock(state_dir, KEY, "planted", "old@host").acquire()
    path = state_dir / "locks" / f"{lock_stem(KEY)}.lock"
    data = json.loads(path.read_bytes()) | fields
    path.write_text(json.dumps(data))


def test_a_reused_pid_is_recognised_by_its_start_time(tmp_path: Path) -> None:
    ticks = pid_start_ticks(os.getpid())
    assert isinstance(ticks, int)
    _plant(tmp_path, pid=os.getpid(), pid_start_ticks=ticks - 1)  # our pid, an older process
    with pytest.raises(LockedError, match=r"^stale lock: run planted by old@host"):
        RunLock(tmp_path, KEY, "run-new", "dev@desk").acquire()


def test_a_lock_from_another_host_counts_as_alive_unless_forced(tmp_path: Path) -> None:
    _plant(tmp_path, host="elsewhere.example", pid=1)
    lock = RunLock(tmp_path, KEY, "planted", "dev@desk")
    with pytest.raises(LockedError) as info:
        lock.acquire(allow_run_id="planted")
    assert str(info.value).startswith("run planted by old@host is in progress since ")
    assert "it runs on host elsewhere.example, which drkit cannot check" in str(info.value)
    taken = lock.acquire(force_unlock=True)
    assert taken.forced and taken.previous is not None
    assert taken.previous.host == "elsewhere.example"


def test_a_damaged_lock_file_needs_force(tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir(mode=0o700)
    (tmp_path / "locks" / f"{lock_stem(KEY)}.lock").write_bytes(b"")
    lock = RunLock(tmp_path, KEY, "run-new", "dev@desk")
    with pytest.raises(LockedError, match=r"is damaged \(empty\).*--force-unlock"):
        lock.acquire()
    taken = lock.acquire(force_unlock=True)
    assert taken.forced and taken.damaged == "empty" and taken.previous is None


def test_lock_file_content_mode_and_context_manager(tmp_path: Path) -> None:
    path = tmp_path / "locks" / f"{lock_stem(KEY)}.lock"
    with RunLock(tmp_path, KEY, "run-a", "ops@laptop") as lock:
        assert lock.held
        data = json.loads(path.read_bytes())
        assert {k: data[k] for k in ("run_id", "who", "pid")} == {
            "run_id": "run-a", "who": "ops@laptop", "pid": os.getpid(),
        }
        assert data["host"] == socket.gethostname() and data["since"].endswith("Z")
        assert data["pid_start_ticks"] == pid_start_ticks(os.getpid())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "locks").stat().st_mode) == 0o700
        assert not lock.acquire().took_over  # the same process again: fine
    assert not path.exists()
    assert lock_stem("a->b") != lock_stem("a-_b") and "/" not in lock_stem("../x->y")


RACER = """
import os, sys, time
from drkit.errors import LockedError
from drkit.runbook.lock import RunLock
state_dir, key, run_id, go = sys.argv[1:5]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.0005)
try:
    RunLock(state_dir, key, run_id, "racer@test").acquire()
except LockedError as exc:
    print("lost", exc, flush=True)
else:
    print("won", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("round_", range(3))
def test_racers_for_a_fresh_lock_exactly_one_wins(tmp_path: Path, round_: int) -> None:
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path / "state"), KEY, f"run-{n}", str(go)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        )
        for n in range(8)
    ]
    try:
        for proc in racers:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        go.touch()
        results = [proc.stdout.readline().strip() for proc in racers if proc.stdout]
    finally:
        for proc in racers:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=30)
    winners = [n for n, line in enumerate(results) if line == "won"]
    assert len(winners) == 1, results
    losers = [line for line in results if line != "won"]
    assert len(losers) == 7
    assert all(
        re.fullmatch(rf"lost run run-{winners[0]} by racer@test is in progress since \S+ "
                     rf"\(pid \d+\); wait for it, or look at `drkit runs show run-{winners[0]}`",
                     line)
        for line in losers
    ), losers


def test_holder_alive_on_this_host() -> None:
    me = LockHolder(KEY, "r", "w", socket.gethostname(), os.getpid(),
                    pid_start_ticks(os.getpid()), "2026-01-01T00:00:00.000Z")
    assert holder_alive(me, socket.gethostname()) is True
    assert holder_alive(replace(me, host="other"), socket.gethostname()) is None
    assert holder_alive(replace(me, pid=0), socket.gethostname()) is False
