"""Start, identify and stop the lab's processes by pid.

A pid alone can be reused after a process dies, so each record also keeps the process start time
from ``/proc/<pid>/stat``; ``drkit lab down`` only signals a pid whose start time still matches,
so it never kills a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from drkit.errors import LabError


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    start_ticks: int

    def to_dict(self) -> dict[str, int]:
        return {"pid": self.pid, "start_ticks": self.start_ticks}

    @classmethod
    def from_dict(cls, d: dict[str, int]) -> ProcessRecord:
        return cls(int(d["pid"]), int(d["start_ticks"]))


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a pid, or None if it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = raw[raw.rindex(")") + 2 :].split()
    return rest[0], int(rest[19])


def _reap(pid: int) -> None:
    """Collect our own dead child so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def is_running(rec: ProcessRecord) -> bool:
    st = _stat(rec.pid)
    if st is None or st[1] != rec.start_ticks:
        return False
    if st[0] in ("Z", "X"):
        _reap(rec.pid)
        return False
    return True


def spawn(argv: Sequence[str], log_file: Path, cwd: Path) -> ProcessRecord:
    """Start a detached process (own session) that outlives the drkit command that started it."""
    with open(log_file, "ab") as log:
        try:
            proc = subprocess.Popen(
                list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=cwd, start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            raise LabError(f"cannot start {argv[0]}: {exc}") from exc
    st = _stat(proc.pid)
    if st is None:
        raise LabError(f"{argv[0]} exited at once; see {log_file}")
    return ProcessRecord(proc.pid, st[1])


def stop(rec: ProcessRecord, timeout_s: float = 30.0) -> bool:
    """SIGTERM, wait, then SIGKILL. Returns True if a running process was stopped."""
    if not is_running(rec):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(rec.pid, signal.SIGTERM)
    if wait_gone(rec, timeout_s):
        return True
    return kill(rec)


def kill(rec: ProcessRecord) -> bool:
    """SIGKILL at once: what a crashed host looks like to the other side."""
    if not is_running(rec):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(rec.pid, signal.SIGKILL)
    if not wait_gone(rec, 10.0):
        raise LabError(f"process {rec.pid} did not exit after SIGKILL")
    return True


def wait_gone(rec: ProcessRecord, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not is_running(rec):
            return True
        time.sleep(0.1)
    return not is_running(rec)


def rss_kib(rec: ProcessRecord) -> int:
    """Resident set size of a running process in KiB (0 if gone)."""
    if not is_running(rec):
        return 0
    try:
        for line in Path(f"/proc/{rec.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0
