"""Start, identify and stop the lab's processes by pid.

A pid alone can be reused after a process dies, so each record also keeps the process start time
from ``/proc/<pid>/stat``; ``drkit lab down`` only signals a pid whose start time still matches,
so it never kills a stranger. ``lab.json`` is only a file, though: anyone who can write it can put
any pid (and that pid's start time) in it. So before signalling, the lab also checks that the
process is one it could have started (:func:`foreign`): owned by the current user, and running
the command line the lab would run for that member (and the one recorded at spawn).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit.errors import LabError


@dataclass(frozen=True)
class ProcessRecord:
    """A process the lab started: pid, start time and the argv it was started with."""

    pid: int
    start_ticks: int
    argv: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pid": self.pid, "start_ticks": self.start_ticks}
        if self.argv is not None:
            out["argv"] = list(self.argv)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProcessRecord:
        argv = d.get("argv")
        return cls(int(d["pid"]), int(d["start_ticks"]),
                   tuple(str(a) for a in argv) if isinstance(argv, list) else None)


@dataclass(frozen=True)
class Expected:
    """What a lab member's command line must look like: the program's base name (``java``,
    ``named``) and the arguments it must end with (main class, the lab's own config file).
    Arguments that are absolute paths match if they name the same file."""

    program: str
    tail: tuple[str, ...]

    def describe(self) -> str:
        return shlex.join([self.program, "…", *self.tail])


def cmdline(pid: int) -> list[str] | None:
    """A process's argv from ``/proc/<pid>/cmdline``, or None if it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0")[:-1]] if raw else None


def owner_uids(pid: int) -> tuple[int, int] | None:
    """(real, effective) uid of a process from ``/proc/<pid>/status``, or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                fields = line.split()
                return int(fields[1]), int(fields[2])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _same_arg(actual: str, wanted: str) -> bool:
    if actual == wanted:
        return True
    if not (actual.startswith("/") and wanted.startswith("/")):
        return False
    try:
        return Path(actual).resolve() == Path(wanted).resolve()
    except (OSError, RuntimeError, ValueError):
        return False


def foreign(rec: ProcessRecord, expected: Expected) -> str | None:
    """Why ``rec``'s pid, though running, is not the process the lab started; None when it is
    ours, or when it is not running at all (then there is nothing to signal)."""
    if not is_running(rec):
        return None
    uids = owner_uids(rec.pid)
    me = os.getuid()
    if uids is None:
        return "its owner cannot be read"
    if uids != (me, me):
        return f"it belongs to uid {uids[0] if uids[0] != me else uids[1]}, not to uid {me}"
    argv = cmdline(rec.pid)
    if argv is None:
        return "its command line cannot be read"
    shown = shlex.join(argv)
    shown = shown if len(shown) <= 120 else shown[:119] + "…"
    tail = expected.tail
    if (os.path.basename(argv[0]) != expected.program or len(argv) <= len(tail)
            or not all(_same_arg(a, w) for a, w in zip(argv[-len(tail):], tail, strict=True))):
        return f"it runs `{shown}`, not `{expected.describe()}`"
    if rec.argv is not None and tuple(argv) != rec.argv:
        return f"it runs `{shown}`, not the command line recorded when the lab started it"
    return None


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
    # Popen returns once exec has begun; the new argv shows in /proc a moment later.
    deadline = time.monotonic() + 5.0
    while (cmdline(proc.pid) is None and proc.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.001)
    st = _stat(proc.pid)
    if st is None:
        raise LabError(f"{argv[0]} exited at once; see {log_file}")
    return ProcessRecord(proc.pid, st[1], tuple(str(a) for a in argv))


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
