"""``drkit lab down`` signals only processes the lab started: a forged ``lab.json`` (any pid, with
its real start time) gets nobody killed, whoever owns the process and whatever it runs."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.lab import bind, procs
from drkit.lab.lab import MEMBERS, Lab, LabState, free_port
from tests.helpers import wait_until


def _forge(lab_dir: Path, pids: dict[str, procs.ProcessRecord], *, dir_field: Path | None = None,
           dns: dict[str, Any] | None = None) -> None:
    """A lab.json as an attacker would write it: real pids with their real start times."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "dir": str(dir_field or lab_dir), "kafka_version": "3.9.0", "lib_dir": str(lab_dir),
        "ports": {m: {"client": 1, "controller": 2} for m in ("primary", "backup")},
        "cluster_ids": {"primary": "x", "backup": "y"},
        "mm2": {"flows": [["primary", "backup"]]},
        "pids": {m: r.to_dict() for m, r in pids.items()}, "dns": dns, "timings_s": {},
    }
    (lab_dir / "lab.json").write_text(json.dumps(state))


def _start(argv: list[str], **kw: Any) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd="/", **kw)
    # Poll until the exec happened: /proc shows the new command line, not Python's.
    wait_until(lambda: procs.cmdline(proc.pid) == argv, 10, f"{argv[0]} to start")
    return proc


def _record(proc: subprocess.Popen[bytes], argv: list[str] | None = None) -> procs.ProcessRecord:
    st = procs._stat(proc.pid)
    assert st is not None
    return procs.ProcessRecord(proc.pid, st[1], tuple(argv) if argv else None)


def _lookalike(lab_dir: Path, member: str = "primary") -> list[str]:
    """An argv that looks exactly like the lab's broker in ``lab_dir``: a shell waiting up to
    60 s in the ``read`` builtin (no child process) on a pipe nobody writes."""
    return ["java", "-c", "read -t 60 _; :", "-Ddrkit.lab", "kafka.Kafka",
            str(lab_dir / member / "server.properties")]


def _start_lookalike(lab_dir: Path, **kw: Any) -> subprocess.Popen[bytes]:
    argv = _lookalike(lab_dir)
    proc = subprocess.Popen(["bash", "-c", 'exec -a java bash "$@"', "bash", *argv[1:]],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd="/", **kw)
    wait_until(lambda: procs.cmdline(proc.pid) == argv, 10, "the look-alike to start")
    return proc


@pytest.fixture
def victims() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test started (none has children); killed afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in started:
            proc.kill()
            proc.wait()
            if proc.stdin:
                proc.stdin.close()


def _down(lab_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["drkit", "lab", *(extra or ("down",)), "--dir", str(lab_dir)],
                          capture_output=True, text=True, timeout=60)


def test_down_leaves_a_process_with_another_command_line_alone(
        tmp_path: Path, victims: list[subprocess.Popen[bytes]]) -> None:
    sleeper = _start(["sleep", "60"])
    victims.append(sleeper)
    lab_dir = tmp_path / "forged"
    _forge(lab_dir, {"primary": _record(sleeper, ["sleep", "60"])})

    res = _down(lab_dir)
    assert res.returncode == 0, res.stderr
    assert sleeper.poll() is None, "lab down killed a process the lab never started"
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"primary: left pid {sleeper.pid} alone" in lines[0]
    assert "sleep 60" in lines[0] and "kafka.Kafka" in lines[0]
    assert "nothing was running" in res.stdout

    stop = _down(lab_dir, "stop", "primary", "--kill")
    assert stop.returncode == 0 and sleeper.poll() is None
    assert f"left pid {sleeper.pid} alone" in stop.stderr and "was not running" in stop.stdout


def test_down_judges_by_the_given_dir_not_the_dir_in_lab_json(
        tmp_path: Path, victims: list[subprocess.Popen[bytes]]) -> None:
    other = tmp_path / "someone-elses-lab"
    proc = _start_lookalike(other)
    victims.append(proc)
    lab_dir = tmp_path / "forged"
    _forge(lab_dir, {"primary": _record(proc, _lookalike(other))}, dir_field=other)

    res = _down(lab_dir)
    assert res.returncode == 0, res.stderr
    assert proc.poll() is None, "lab down --dir A killed lab B's broker because lab.json said so"
    assert f"left pid {proc.pid} alone" in res.stderr


def test_down_stops_a_process_that_is_the_labs(tmp_path: Path,
                                               victims: list[subprocess.Popen[bytes]]) -> None:
    """The control: owner and command line as the lab would run them → stopped."""
    lab_dir = tmp_path / "lab"
    proc = _start_lookalike(lab_dir)
    victims.append(proc)
    _forge(lab_dir, {"primary": _record(proc, _lookalike(lab_dir))})

    res = _down(lab_dir)
    assert res.returncode == 0, res.stderr
    assert "stopped: primary" in res.stdout and res.stderr == ""
    wait_until(lambda: proc.poll() is not None, 10, "the lab's process to exit")


@pytest.fixture
def other_user() -> Iterator[pwd.struct_passwd]:
    """A throw-away second Unix user (needs root; removed afterwards)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a second Unix user (useradd); "
                    "the uid check is still covered by drkit.lab.procs.foreign's code path")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("useradd/userdel not installed: cannot create a second Unix user")
    name = f"drkit-t{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        gone = subprocess.run(["userdel", name], check=False, capture_output=True, text=True)
        assert gone.returncode == 0, f"userdel {name}: {gone.stderr.strip()}"


def test_down_leaves_another_users_process_alone_even_if_it_looks_like_the_lab(
        tmp_path: Path, other_user: pwd.struct_passwd,
        victims: list[subprocess.Popen[bytes]]) -> None:
    lab_dir = tmp_path / "lab"
    # Same command line, byte for byte, as the lab's own broker; only the owner differs.
    proc = _start_lookalike(lab_dir, user=other_user.pw_uid, group=other_user.pw_gid,
                            extra_groups=[])
    victims.append(proc)
    assert procs.owner_uids(proc.pid) == (other_user.pw_uid, other_user.pw_uid)
    _forge(lab_dir, {"primary": _record(proc, _lookalike(lab_dir))})

    res = _down(lab_dir)
    assert res.returncode == 0, res.stderr
    assert proc.poll() is None, "lab down (as root) killed another user's process"
    assert f"left pid {proc.pid} alone: it belongs to uid {other_user.pw_uid}" in res.stderr
    assert res.stderr.count("\n") == 1


def test_real_named_started_by_the_lab_is_recognised_and_stopped(tmp_path: Path) -> None:
    if not bind.available():
        pytest.skip("BIND's 'named' is not installed (apt-get install bind9)")
    lab_dir = tmp_path / "lab"
    cfg = bind.prepare(lab_dir / "dns", free_port())
    rec = procs.spawn(bind.argv(cfg), lab_dir / "bind.log", lab_dir)
    try:
        _forge(lab_dir, {"bind": rec}, dns=cfg)
        state = LabState.load(lab_dir)
        assert state.foreign("bind") is None and state.running("bind")
        res = _down(lab_dir)
        assert res.returncode == 0 and "stopped: bind" in res.stdout, res.stderr
        assert not procs.is_running(rec)
    finally:
        procs.kill(rec)


def test_shared_lab_members_are_recognised_as_the_labs(lab: Lab) -> None:
    """Real brokers and MM2 (java) pass the identity check, with their argv recorded."""
    for member in MEMBERS:
        rec = lab.state.record(member)
        if rec is None or not procs.is_running(rec):
            continue
        assert rec.argv is not None and procs.cmdline(rec.pid) == list(rec.argv)
        assert lab.state.foreign(member) is None, member
        assert lab.state.running(member)
