"""One lock per failover target, so two operators cannot fail over the same clusters at once.

``state_dir/locks/<key>.lock`` holds who has it (run, user@host, pid and the pid's start time).
Creating it uses ``O_CREAT | O_EXCL``, so of two processes only one can create it; looking at an
existing lock and taking it over is serialised with ``flock`` on ``<key>.guard`` (never deleted, so
every process locks the same inode). A holder is alive if it is on this host and its pid runs
with the same start time (pids are reused); a dead holder's lock is stale and may be taken over by
a resume of the same run or with ``--force-unlock``. A holder on another host cannot be checked,
so it counts as alive unless the operator forces the take-over.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from drkit.errors import LockedError
from drkit.runbook.checks import Check, check_count, check_fields, check_str, optional
from drkit.statedir import (
    atomic_write,
    check_dir,
    check_state_dir,
    create_exclusive,
    ensure_dir,
    fsync_dir,
    open_guard,
    read_bytes,
    utc_now,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LockHolder:
    """The content of a lock file: which run holds the target, and how to tell if it still runs."""

    key: str
    run_id: str
    who: str
    host: str
    pid: int
    pid_start_ticks: int | None
    since: str

    @classmethod
    def from_json(cls, raw: bytes) -> LockHolder:
        """Parse a lock file; ValueError says what is wrong (e.g. a crash left it empty)."""
        return cls(**check_fields(json.loads(raw), "", _HOLDER_FIELDS))


_HOLDER_FIELDS: dict[str, Check] = {
    "key": check_str, "run_id": check_str, "who": check_str, "host": check_str,
    "pid": check_count, "pid_start_ticks": optional(check_count), "since": check_str,
}


@dataclass(frozen=True)
class Acquired:
    """What :meth:`RunLock.acquire` did, for the audit log.

    ``previous`` is the dead (or unverifiable) holder whose lock was taken over, if any;
    ``forced`` says the take-over needed ``--force-unlock``; ``damaged`` describes an unreadable
    lock file that was replaced.
    """

    previous: LockHolder | None = None
    forced: bool = False
    damaged: str | None = None

    @property
    def took_over(self) -> bool:
        """Whether an existing lock file was replaced."""
        return self.previous is not None or self.damaged is not None

    def __bool__(self) -> bool:
        """Truthy when the take-over was forced, so ``forced = lock.acquire(...)`` reads right."""
        return self.forced


def lock_stem(key: str) -> str:
    """A file name for ``key`` (``primary->backup`` → ``primary-to-backup-1a2b3c4d``).

    The hash keeps keys that only differ in unsafe characters apart.
    """
    readable = _UNSAFE.sub("_", key.replace("->", "-to-")).strip("._")[:80] or "lock"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def pid_start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (/proc/<pid>/stat field 22), if known."""
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start ticks) of ``pid`` from /proc, or None without /proc or such a process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
        # comm (field 2) may hold spaces and parentheses: fields 3.. follow its last ")".
        fields = raw[raw.rindex(b")") + 2 :].split()
        return fields[0].decode(), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def holder_alive(holder: LockHolder, host: str) -> bool | None:
    """True if ``holder`` still runs, False if it is gone, None if it is on another host."""
    if holder.host != host:
        return None
    if holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    stat = _proc_stat(holder.pid)
    if stat is None:
        return True  # no /proc: the pid exists, which is all we can tell
    state, ticks = stat
    if state in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    return holder.pid_start_ticks is None or ticks == holder.pid_start_ticks


class RunLock:
    """The exclusive lock of one failover target (``key``, e.g. ``primary->backup``) for a run.

    Use ``acquire()`` then ``release()``, or ``with RunLock(...) as lock:`` (acquires with the
    defaults unless already acquired, releases on exit).
    """

    def __init__(
        self, state_dir: Path | str, key: str, run_id: str, who: str, pid: int | None = None
    ) -> None:
        self.key = key
        self.run_id = run_id
        self.who = who
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname()
        self.state_dir = Path(state_dir)
        self.locks_dir = self.state_dir / "locks"
        stem = lock_stem(key)
        self.path = self.locks_dir / f"{stem}.lock"
        self.guard_path = self.locks_dir / f"{stem}.guard"
        self.held = False

    def acquire(self, force_unlock: bool = False, allow_run_id: str | None = None) -> Acquired:
        """Take the lock, or raise LockedError saying who holds it and what to do.

        ``allow_run_id``: a resume of that run takes over its own stale lock without being told.
        ``force_unlock``: take over a stale lock, one from another host, or a damaged lock file;
        never one whose holder is seen running on this host.
        """
        check_state_dir(self.state_dir)  # one line, exit 2, before anything is touched
        ensure_dir(self.locks_dir)
        ticks = pid_start_ticks(self.pid)
        me = LockHolder(self.key, self.run_id, self.who, self.host, self.pid, ticks, utc_now())
        payload = (json.dumps(asdict(me), indent=2) + "\n").encode()
        with self._guarded():
            for _ in range(3):  # the file can only vanish in between if flock is not honoured
                try:
                    self._create(payload)
                    self.held = True
                    return Acquired()
                except FileExistsError:
                    holder = self._read()
                if holder is not None:
                    break
            outcome = self._check_holder(holder, force_unlock, allow_run_id)
            if outcome is not None:
                atomic_write(self.path, payload)
            self.held = True
            return Acquired() if outcome is None else outcome

    def release(self) -> bool:
        """Remove the lock if it still names our run; True if it did (never removes another's)."""
        self.held = False
        if not check_dir(self.locks_dir):
            return False
        with self._guarded():
            holder = self._read()
            if not isinstance(holder, LockHolder) or holder.run_id != self.run_id:
                return False
            self.path.unlink(missing_ok=True)
            fsync_dir(self.locks_dir)
            return True

    def holder(self) -> LockHolder | None:
        """Who holds the lock now (None if nobody, or the file is unreadable)."""
        with self._guarded():
            found = self._read()
        return found if isinstance(found, LockHolder) else None

    def __enter__(self) -> RunLock:
        if not self.held:
            self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _check_holder(
        self, holder: LockHolder | str | None, force_unlock: bool, allow_run_id: str | None
    ) -> Acquired | None:
        """Decide about an existing lock: None = it is already ours; Acquired = take it over."""
        if holder is None or isinstance(holder, str):
            holder = holder or "it keeps vanishing and reappearing"
            if not force_unlock:
                raise LockedError(
                    f"lock file {self.path} for {self.key} is damaged ({holder}); if no drkit "
                    f"run for {self.key} is in progress, take over with --force-unlock"
                )
            return Acquired(forced=True, damaged=holder)
        if (holder.run_id, holder.host, holder.pid) == (self.run_id, self.host, self.pid) and (
            holder.pid_start_ticks == pid_start_ticks(self.pid)
        ):
            return None  # this very process took it already
        alive = holder_alive(holder, self.host)
        busy = (
            f"run {holder.run_id} by {holder.who} is in progress since {holder.since} "
            f"(pid {holder.pid}); wait for it, or look at `drkit runs show {holder.run_id}`"
        )
        if alive:
            raise LockedError(busy)
        if alive is None:
            if force_unlock:
                return Acquired(previous=holder, forced=True)
            raise LockedError(
                f"{busy}; it runs on host {holder.host}, which drkit cannot check from "
                f"{self.host}: if it is no longer running, take over with --force-unlock"
            )
        if allow_run_id is not None and allow_run_id == holder.run_id:
            return Acquired(previous=holder)
        if force_unlock:
            return Acquired(previous=holder, forced=True)
        raise LockedError(
            f"stale lock: run {holder.run_id} by {holder.who} (pid {holder.pid}) is no longer "
            f"running; resume it with `drkit failover --resume {holder.run_id}` or take over "
            "with --force-unlock"
        )

    def _create(self, payload: bytes) -> None:
        create_exclusive(self.path, payload)

    def _read(self) -> LockHolder | str | None:
        """The holder, what is wrong with the lock file, or None if there is none."""
        try:
            raw = read_bytes(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot read it: {exc.strerror}"
        try:
            return LockHolder.from_json(raw)
        except ValueError as exc:
            return "empty" if not raw.strip() else str(exc)

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        """Hold the guard file's flock: only one process looks at or changes the lock at a time."""
        fd = open_guard(self.guard_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the flock
