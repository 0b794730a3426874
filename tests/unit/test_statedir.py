"""Issue 17 §3: the state directory's owner, mode and symlinks (drkit/statedir.py and its
callers: journal, lock, audit log, inventory). Each rule is tried the way the security review
tried it; the attacker's target file must come out untouched."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit import statedir
from drkit.errors import EXIT_USAGE, StateDirError
from drkit.kafka.groups import SourceGroup
from drkit.mm2.model import TopicPartition
from drkit.offsets.inventory import inventory_path, load_inventory, save_inventory
from drkit.runbook.audit import AuditLog
from drkit.runbook.lock import RunLock
from drkit.runbook.state import Journal
from tests.unit.test_run_state import RUN_ID, make_run

ROOT = os.geteuid() == 0


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


class _Settings:
    """What inventory needs of Settings: its state_dir."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir


def _victim(tmp_path: Path) -> tuple[Path, bytes, int]:
    """A file drkit must never write: its content and mode are checked afterwards."""
    victim = tmp_path / "victim.conf"
    victim.write_bytes(b"root-owned content\n")
    victim.chmod(0o644)
    return victim, victim.read_bytes(), _mode(victim)


def _untouched(victim: Path, content: bytes, mode: int) -> None:
    assert victim.read_bytes() == content and _mode(victim) == mode


# --- (b) created 0700 whatever the umask ---------------------------------------------------------


def test_umask_000_every_directory_and_file_drkit_makes_is_private(
        tmp_path: Path, umask_000: None) -> None:
    state = tmp_path / "project" / ".drkit"
    Journal(state).save(make_run())
    AuditLog(state).append(RUN_ID, "run-started", who="ops")
    RunLock(state, "primary->backup", RUN_ID, "ops").acquire()
    save_inventory(_Settings(state), "primary",  # type: ignore[arg-type]
                   {"g": SourceGroup("g", {TopicPartition("t", 0): 5})}, 1_000)
    for d in (state, state / "runs", state / "locks", state / "inventory"):
        assert _mode(d) == 0o700, d
    for f in [p for p in state.rglob("*") if p.is_file()]:
        assert _mode(f) == 0o600, f
    # The operator's own parent directory gets the ordinary permissions, not drkit's.
    assert (tmp_path / "project").is_dir()


def test_an_existing_private_state_dir_of_mine_is_used_as_it_is(tmp_path: Path) -> None:
    state = tmp_path / "s"
    state.mkdir(mode=0o755)
    state.chmod(0o755)  # readable by others is fine: every file in it is 0600
    Journal(state).save(make_run())
    assert _mode(state) == 0o755 and Journal(state).load(RUN_ID).run_id == RUN_ID


# --- ownership and group/other-writable ----------------------------------------------------------


@pytest.mark.parametrize("sub", ["", "runs", "locks", "inventory"])
def test_a_dir_writable_by_group_or_others_is_refused(tmp_path: Path, sub: str) -> None:
    state = tmp_path / "s"
    Journal(state).save(make_run())
    (state / "locks").mkdir(mode=0o700)
    (state / "inventory").mkdir(mode=0o700)
    target = state / sub if sub else state
    target.chmod(0o777)
    before = sorted(p.name for p in state.rglob("*"))
    with pytest.raises(StateDirError) as info:
        Journal(state).list_runs()
    msg = str(info.value)
    assert f"state directory {target} is writable by group or others (mode 0777)" in msg
    assert "chmod 700" in msg and "\n" not in msg and info.value.exit_code == EXIT_USAGE
    with pytest.raises(StateDirError):
        RunLock(state, "primary->backup", "r2", "ops").acquire()
    assert sorted(p.name for p in state.rglob("*")) == before  # nothing written


@pytest.mark.skipif(not ROOT, reason="chown to another uid needs root")
def test_a_state_dir_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s"
    state.mkdir(mode=0o755)
    os.chown(state, 54321, 54321)  # (a): another user ran drkit first and owns it
    with pytest.raises(StateDirError, match=r"is owned by uid 54321, not by you .*chown"):
        Journal(state).save(make_run())
    with pytest.raises(StateDirError, match="owned by uid 54321"):
        RunLock(state, "primary->backup", RUN_ID, "ops").acquire()
    with pytest.raises(StateDirError, match="owned by uid 54321"):
        AuditLog(state).append(RUN_ID, "run-started")
    assert list(state.iterdir()) == []


@pytest.mark.skipif(not ROOT, reason="chown to another uid needs root")
def test_a_subdirectory_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s"
    Journal(state).save(make_run())
    os.chown(state / "runs", 54321, 54321)
    with pytest.raises(StateDirError, match=f"{state / 'runs'} is owned by uid 54321"):
        Journal(state).load(RUN_ID)


# --- (c), (d) and runs/: symlinks drkit did not make --------------------------------------------


def test_symlink_at_audit_jsonl_is_not_followed_nor_chmodded(tmp_path: Path) -> None:
    victim, content, mode = _victim(tmp_path)
    state = tmp_path / "s"
    state.mkdir(mode=0o700)
    (state / "audit.jsonl").symlink_to(victim)
    with pytest.raises(StateDirError) as info:
        AuditLog(state).append(RUN_ID, "run-started", who="ops")
    assert "audit.jsonl" in str(info.value) and "symlink" in str(info.value)
    _untouched(victim, content, mode)


def test_symlink_at_a_temp_name_is_not_followed(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """(d): even if the random temp name were guessed, O_EXCL|O_NOFOLLOW refuses the link."""
    victim, content, mode = _victim(tmp_path)
    state = tmp_path / "s"
    path = inventory_path(_Settings(state), "primary")  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, mode=0o700)
    monkeypatch.setattr(statedir._random, "token_hex", lambda n: "guessed")
    (path.parent / f".{path.name}.guessed.tmp").symlink_to(victim)
    with pytest.raises(StateDirError, match=r"cannot write .*primary\.json: File exists"):
        save_inventory(_Settings(state), "primary",  # type: ignore[arg-type]
                       {"g": SourceGroup("g", {})}, 1_000)
    _untouched(victim, content, mode)
    assert not path.exists()


def test_temp_names_are_random_and_none_is_left_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names: list[str] = []
    real_open = os.open

    def spy(p: object, *a: object, **k: object) -> int:
        names.append(os.fspath(p))  # type: ignore[arg-type]
        return real_open(p, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(statedir.os, "open", spy)
    target = tmp_path / "f.json"
    statedir.atomic_write(target, b"1")
    statedir.atomic_write(target, b"2")
    monkeypatch.undo()
    temps = [n for n in names if n.endswith(".tmp")]
    assert len(set(temps)) == 2 and all(str(os.getpid()) not in Path(t).name for t in temps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
    assert target.read_bytes() == b"2"


def test_symlink_at_the_inventory_file_itself_is_refused(tmp_path: Path) -> None:
    victim, content, mode = _victim(tmp_path)
    state = tmp_path / "s"
    path = inventory_path(_Settings(state), "primary")  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, mode=0o700)
    path.symlink_to(victim)
    with pytest.raises(StateDirError, match="symlink"):
        save_inventory(_Settings(state), "primary",  # type: ignore[arg-type]
                       {"g": SourceGroup("g", {})}, 1_000)
    _untouched(victim, content, mode)
    assert path.is_symlink()
    assert [p.name for p in path.parent.iterdir()] == ["primary.json"]  # no temp file left


@pytest.mark.parametrize("sub", ["runs", "locks", "inventory"])
def test_symlink_at_a_subdirectory_is_refused(tmp_path: Path, sub: str) -> None:
    """(a): a swapped ``runs/`` (or locks/, inventory/) is never read from nor written to."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    planted = elsewhere / f"{RUN_ID}.json"
    Journal(tmp_path / "other").save(make_run())
    planted.write_bytes((tmp_path / "other" / "runs" / f"{RUN_ID}.json").read_bytes())
    state = tmp_path / "s"
    state.mkdir(mode=0o700)
    (state / sub).symlink_to(elsewhere)
    before = sorted(p.name for p in elsewhere.iterdir())
    with pytest.raises(StateDirError, match=f"{state / sub} is a symlink drkit did not make"):
        Journal(state).list_runs()
    with pytest.raises(StateDirError):  # every reader checks the whole tree
        load_inventory(_Settings(state), "primary", 0)  # type: ignore[arg-type]
    writer = {  # and each writer the directory it writes
        "runs": lambda: Journal(state).save(make_run()),
        "locks": lambda: RunLock(state, "primary->backup", RUN_ID, "ops").acquire(),
        "inventory": lambda: save_inventory(_Settings(state), "primary",  # type: ignore[arg-type]
                                            {"g": SourceGroup("g", {})}, 1_000),
    }[sub]
    with pytest.raises(StateDirError, match="symlink"):
        writer()
    assert sorted(p.name for p in elsewhere.iterdir()) == before


def test_state_dir_may_be_my_own_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    Journal(tmp_path / "link").save(make_run())
    assert (real / "runs" / f"{RUN_ID}.json").is_file()


@pytest.mark.skipif(not ROOT, reason="lchown to another uid needs root")
def test_state_dir_as_another_users_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    os.lchown(link, 54321, 54321)
    with pytest.raises(StateDirError, match=r"is a symlink drkit did not make .*uid 54321"):
        Journal(link).save(make_run())
    assert list(real.iterdir()) == []


def test_a_file_where_the_state_dir_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s").write_text("x")
    with pytest.raises(StateDirError, match="is not a directory"):
        Journal(tmp_path / "s").save(make_run())


# --- unwritable ----------------------------------------------------------------------------------


def test_state_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateDirError, match=r"state directory .*file/s: "
                                            r"Not a directory; .*pick another state_dir"):
        RunLock(tmp_path / "file" / "s", "a->b", RUN_ID, "ops").acquire()
