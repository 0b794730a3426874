"""The lab's secrets and process identity: a TSIG key never readable by others, even for a moment;
a pid from ``lab.json`` is only ours if its owner and command line say so."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.lab import bind, procs


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def key_opens(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """(flags, mode argument, mode of the new inode right after open) for every os.open of
    tsig.key: the file's mode at the first moment it exists, before any byte is written."""
    seen: list[tuple[int, int, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, *args: Any, **kw: Any) -> int:
        fd = real_open(path, flags, mode, *args, **kw)
        if os.fspath(path).endswith("tsig.key"):
            seen.append((flags, mode, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    monkeypatch.setattr(os, "open", spy)
    monkeypatch.setattr(bind, "available", lambda: True)
    return seen


def test_tsig_key_is_created_0600_under_umask_000(
        tmp_path: Path, umask_000: None, key_opens: list[tuple[int, int, int]]) -> None:
    cfg = bind.prepare(tmp_path / "dns", 5353)
    key = Path(cfg["key_file"])
    # Written through one fresh fd, created 0600: never observable with group/other bits.
    assert len(key_opens) == 1, "tsig.key must be created with os.open (O_EXCL, mode 0600)"
    flags, mode, mode_at_creation = key_opens[0]
    for flag in (os.O_CREAT, os.O_EXCL, os.O_NOFOLLOW, os.O_WRONLY):
        assert flags & flag == flag
    assert mode == 0o600 and mode_at_creation == 0o600
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    text = key.read_text()
    assert f'key "{bind.KEY_NAME}"' in text and "hmac-sha256" in text and 'secret "' in text


def test_tsig_key_never_written_through_a_planted_symlink(
        tmp_path: Path, umask_000: None, key_opens: list[tuple[int, int, int]]) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    dns_dir = tmp_path / "dns"
    dns_dir.mkdir()
    (dns_dir / "tsig.key").symlink_to(victim)
    cfg = bind.prepare(dns_dir, 5353)
    assert victim.read_text() == "precious\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644
    key = Path(cfg["key_file"])
    assert not key.is_symlink() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "hmac-sha256" in key.read_text()


def test_a_second_prepare_replaces_the_key_with_a_fresh_0600_file(
        tmp_path: Path, umask_000: None, key_opens: list[tuple[int, int, int]]) -> None:
    first = Path(bind.prepare(tmp_path / "dns", 5353)["key_file"])
    first.chmod(0o644)  # an old key left readable must not keep its mode
    old_text = first.read_text()
    second = Path(bind.prepare(tmp_path / "dns", 5353)["key_file"])
    assert second.read_text() != old_text
    assert stat.S_IMODE(second.stat().st_mode) == 0o600
    assert [m for _f, _m, m in key_opens] == [0o600, 0o600]


# ── process identity ────────────────────────────────────────────────────────────────────────


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _record(proc: subprocess.Popen[bytes], argv: tuple[str, ...] | None = None
            ) -> procs.ProcessRecord:
    st = procs._stat(proc.pid)
    assert st is not None
    return procs.ProcessRecord(proc.pid, st[1], argv)


def test_foreign_names_a_process_with_another_command_line(
        sleeper: subprocess.Popen[bytes], tmp_path: Path) -> None:
    rec = _record(sleeper)
    lab_conf = str(tmp_path / "primary" / "server.properties")
    why = procs.foreign(rec, procs.Expected("java", ("kafka.Kafka", lab_conf)))
    assert why is not None and "sleep 60" in why and "kafka.Kafka" in why
    assert procs.foreign(rec, procs.Expected("sleep", ("60",))) is None


def test_foreign_compares_the_recorded_argv(sleeper: subprocess.Popen[bytes]) -> None:
    expected = procs.Expected("sleep", ("60",))
    assert procs.foreign(_record(sleeper, ("sleep", "60")), expected) is None
    why = procs.foreign(_record(sleeper, ("/bin/sleep", "60")), expected)
    assert why is not None and "recorded" in why


def test_foreign_is_none_for_a_process_that_is_gone(sleeper: subprocess.Popen[bytes]) -> None:
    rec = _record(sleeper)
    sleeper.kill()
    sleeper.wait()
    assert procs.foreign(rec, procs.Expected("java", ("x",))) is None
    assert not procs.stop(rec, 1.0)


def test_record_round_trips_argv_and_reads_old_records() -> None:
    rec = procs.ProcessRecord(12, 34, ("java", "-cp", "x", "kafka.Kafka", "/l/p"))
    assert procs.ProcessRecord.from_dict(rec.to_dict()) == rec
    assert procs.ProcessRecord.from_dict({"pid": 12, "start_ticks": 34}).argv is None


def test_spawn_records_argv(tmp_path: Path) -> None:
    rec = procs.spawn(["sleep", "60"], tmp_path / "log", tmp_path)
    try:
        assert rec.argv == ("sleep", "60")
        assert procs.cmdline(rec.pid) == ["sleep", "60"]
        assert procs.owner_uids(rec.pid) == (os.getuid(), os.getuid())
    finally:
        assert procs.kill(rec)
