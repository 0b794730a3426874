"""The run journal: what a failover did so far, so that anyone can resume it after a crash.

One JSON file per run under ``state_dir/runs/<run-id>.json``. It is the only memory a resumed run
has, so it is written atomically (temp file, fsync, rename, fsync of the directory: a crash leaves
the old or the new journal, never half of one), it is mode 0600, and secrets never reach it. A
journal drkit cannot read is reported and left alone: overwriting it would erase the only record of
which offsets were committed and which DNS values were changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets as _random
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from drkit.errors import StateError, UnknownRunError, UnsafeError
from drkit.runbook.audit import Redactor
from drkit.runbook.checks import (
    Check,
    Invalid,
    check_count,
    check_fields,
    check_object,
    check_objects,
    check_str,
    check_time,
    one_of,
    optional,
    type_name,
)
from drkit.statedir import (
    atomic_write,
    check_state_dir,
    ensure_dir,
    file_identity,
    format_time,
    read_bytes,
    read_or_create_key,
    utc_now,
)

FORMAT = 1
StepStatus = Literal["pending", "running", "succeeded", "failed", "skipped", "interrupted"]
RunStatus = Literal["running", "succeeded", "failed", "interrupted", "aborted"]
STEP_STATUSES: tuple[str, ...] = get_args(StepStatus)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
RUN_KINDS = ("failover", "failback", "drill")
#: What a run summary says beyond the journaled status: its last rollback's outcome.
ROLLED_BACK, ROLLBACK_INCOMPLETE = "rolled back", "rollback incomplete"
#: A journal that cannot be read ("damaged") or trusted ("tampered": its MAC does not verify).
DAMAGED, TAMPERED = "damaged", "tampered"
#: Every status ``runs list`` and ``drkit status`` can show for a run (``interrupted`` is also
#: derived by :mod:`drkit.runbook.liveness` for a ``running`` run nobody runs).
SHOWN_RUN_STATUSES: tuple[str, ...] = (*RUN_STATUSES, ROLLED_BACK, ROLLBACK_INCOMPLETE,
                                       DAMAGED, TAMPERED)
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_ID_PART = re.compile(r"[^A-Za-z0-9._-]+")
_DAMAGED_ADVICE = (
    "it was left untouched; fix or move it away; drkit never overwrites a damaged journal"
)
#: The journal's integrity key, in ``state_dir`` (0600, owner only; see :class:`Journal`).
KEY_FILE = "journal.key"
_MAC_PREFIX = "hmac-sha256:"
_MAC_CONTEXT = b"drkit run journal v1\0"
Integrity = Literal["signed", "unsigned", "tampered"]


def new_run_id(kind: str, source: str, target: str, now: datetime | None = None) -> str:
    """A run id that sorts by start time, is safe as a file name and is unique in practice.

    e.g. ``20261125T204501Z-failover-primary-backup-3f9a1c``: readable in ``runs list``, and the
    random tail keeps two runs started in the same second apart.
    """
    when = (now or datetime.now(UTC)).astimezone(UTC)
    parts = [_ID_PART.sub("_", part)[:40] or "_" for part in (kind, source, target)]
    return f"{when:%Y%m%dT%H%M%SZ}-{'-'.join(parts)}-{_random.token_hex(3)}"


def is_run_id(value: str) -> bool:
    """Whether ``value`` can name a journal file (no path separators, no leading dot)."""
    return _RUN_ID.fullmatch(value) is not None


@dataclass
class StepState:
    """One runbook step as it stands in this run; ``outputs`` is what a resume needs from it."""

    id: str
    uses: str
    status: StepStatus = "pending"
    started_at: str | None = None
    ended_at: str | None = None
    attempts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunState:
    """Everything a resumed run needs: who started what, with which runbook, and each step."""

    run_id: str
    kind: str
    runbook: str
    runbook_path: str
    runbook_digest: str
    source: str
    target: str
    args: dict[str, Any]
    who: str
    host: str
    pid: int
    created_at: str
    updated_at: str
    status: RunStatus
    steps: list[StepState]
    approvals: list[dict[str, Any]] = field(default_factory=list)
    resumed: list[dict[str, Any]] = field(default_factory=list)
    format: int = FORMAT
    #: Each ``drkit runs rollback`` of this run: who, when, restored, left alone (newest last).
    #: Absent from journals of runs never rolled back (older drkits read those unchanged).
    rollbacks: list[dict[str, Any]] = field(default_factory=list)

    def step(self, step_id: str) -> StepState:
        """The step called ``step_id``; a StateError if the journal has no such step."""
        for candidate in self.steps:
            if candidate.id == step_id:
                return candidate
        known = ", ".join(s.id for s in self.steps) or "none"
        raise StateError(f"run {self.run_id} has no step {step_id!r} (steps: {known})")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (a deep copy, so callers can scrub it freely)."""
        data = asdict(self)
        if not data["rollbacks"]:
            del data["rollbacks"]  # journals of runs never rolled back keep their old shape
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "<run state>") -> RunState:
        """Validate every field, type and status; a StateError names ``source`` and the field."""
        try:
            return _parse_run(data)
        except Invalid as exc:
            raise StateError(f"{source}: {exc}") from None


def _run_id(value: Any, at: str) -> str:
    if not is_run_id(check_str(value, at)):
        raise Invalid(at, f"{value!r} is not a run id (letters, digits, '.', '_', '-')")
    return str(value)


def _steps(value: Any, at: str) -> list[StepState]:
    if not isinstance(value, list):
        raise Invalid(at, f"must be a list, not {type_name(value)}")
    steps: list[StepState] = []
    for i, item in enumerate(value):
        parsed = StepState(**check_fields(item, f"{at}[{i}]", _STEP_FIELDS))
        if any(s.id == parsed.id for s in steps):
            raise Invalid(f"{at}[{i}].id", f"{parsed.id!r} appears twice")
        steps.append(parsed)
    return steps


_STEP_FIELDS: dict[str, Check] = {
    "id": check_str, "uses": check_str, "status": one_of(STEP_STATUSES),
    "started_at": optional(check_time), "ended_at": optional(check_time),
    "attempts": check_count, "outputs": check_object, "error": optional(check_str),
}
_RUN_FIELDS: dict[str, Check] = {
    "run_id": _run_id, "kind": one_of(RUN_KINDS), "runbook": check_str,
    "runbook_path": check_str, "runbook_digest": check_str, "source": check_str,
    "target": check_str, "args": check_object, "who": check_str, "host": check_str,
    "pid": check_count, "created_at": check_time, "updated_at": check_time,
    "status": one_of(RUN_STATUSES), "steps": _steps, "approvals": check_objects,
    "resumed": check_objects, "format": check_count, "rollbacks": check_objects,
}


def _parse_run(data: Any) -> RunState:
    obj = check_object(data, "")
    if "format" in obj and obj["format"] != FORMAT:
        raise Invalid("format", f"is {obj['format']!r}; this drkit reads format {FORMAT}")
    if "rollbacks" not in obj:  # optional: only runs that were rolled back have it
        obj = {**obj, "rollbacks": []}
    return RunState(**check_fields(obj, "", _RUN_FIELDS))


@dataclass(frozen=True)
class RunSummary:
    """One line of ``drkit runs list``: enough to choose a run to show or resume."""

    run_id: str
    kind: str
    runbook: str
    source: str
    target: str
    who: str
    status: str
    created_at: str
    updated_at: str
    steps_total: int
    steps_done: int
    current_step: str | None
    path: str
    #: "signed" (its MAC verifies) or "unsigned" (written before journals were signed).
    integrity: str = "signed"

    @classmethod
    def of(cls, run: RunState, path: Path, integrity: str = "signed") -> RunSummary:
        """Summarise ``run``; ``current_step`` is where a resume would re-enter, if anywhere."""
        done = sum(s.status in ("succeeded", "skipped") for s in run.steps)
        current = next(
            (s.id for s in run.steps if s.status in ("running", "failed", "interrupted")), None
        )
        status: str = run.status
        if run.rollbacks:
            last = run.rollbacks[-1]
            status = (ROLLBACK_INCOMPLETE if last.get("refused") or last.get("failed")
                      else ROLLED_BACK)
        return cls(run.run_id, run.kind, run.runbook, run.source, run.target, run.who, status,
                   run.created_at, run.updated_at, len(run.steps), done, current, str(path),
                   integrity)

    def to_dict(self) -> dict[str, Any]:
        """For ``--output json``."""
        return asdict(self)


@dataclass(frozen=True)
class DamagedRun:
    """A journal in ``runs/`` that cannot be read or trusted: listed with its error, never
    hidden. ``status`` is "damaged" (unreadable) or "tampered" (its MAC does not verify)."""

    run_id: str
    path: str
    error: str
    modified_at: str
    status: str = DAMAGED

    def to_dict(self) -> dict[str, Any]:
        """For ``--output json``."""
        return asdict(self)


class Journal:
    """Reads and writes run journals under ``state_dir/runs``.

    Integrity: each journal carries ``mac``, an HMAC-SHA256 over its canonical JSON content
    (sorted keys, no whitespace, without ``mac``) keyed by ``state_dir/journal.key`` (32 random
    bytes, created 0600 by the first write, refused if anyone but its owner can read it). A
    journal whose MAC does not verify was changed outside drkit: :meth:`load` refuses it (exit
    3) and :meth:`list_runs` lists it as "tampered". A journal without ``mac`` (written before
    journals were signed) can be listed and shown, but resuming or rolling it back needs
    ``trust_unsigned`` (``--trust-journal``); the next write signs it.

    ``secrets`` are strings (passwords from the config) that must never reach disk: they are cut
    out of free text (errors, command output, summaries), and any value under a secret-looking
    key (see :func:`drkit.config.redaction.is_secret_key`) is masked. Structured data (plan,
    group, topic and record names) is never changed.
    """

    def __init__(self, state_dir: Path | str, secrets: Iterable[str] = ()) -> None:
        self.state_dir = Path(state_dir)
        self.runs_dir = self.state_dir / "runs"
        self.key_path = self.state_dir / KEY_FILE
        self._redactor = Redactor(secrets)
        self._key: bytes | None = None
        # file_identity() of each journal this object wrote last: while the file still matches,
        # nobody changed it and save() can skip re-reading it.
        self._written: dict[str, tuple[int, ...]] = {}

    def path(self, run_id: str) -> Path:
        """The journal file of ``run_id``; a StateError for ids that could escape ``runs/``."""
        if not is_run_id(run_id):
            raise UnknownRunError(f"{run_id!r} is not a run id; `drkit runs list` shows the "
                                  "runs")
        return self.runs_dir / f"{run_id}.json"

    def create(self, run: RunState) -> None:
        """Save a new run; a StateError if its id is taken (never replaces another run)."""
        if self.path(run.run_id).exists():
            raise StateError(f"run {run.run_id} already exists in {self.runs_dir}")
        self.save(run)

    def save(self, run: RunState) -> None:
        """Write ``run`` atomically with secrets scrubbed, and set its ``updated_at``.

        Refuses (StateError) to replace a journal that exists but cannot be read, unless this
        object wrote it last and it is unchanged since.
        """
        path = self.path(run.run_id)
        run.updated_at = utc_now()
        payload = self._serialise(run)
        ensure_dir(self.state_dir)
        ensure_dir(self.runs_dir)
        self._refuse_if_damaged(path, run.run_id)
        atomic_write(path, payload)
        self._written[run.run_id] = file_identity(path)

    def load(self, run_id: str, *, trust_unsigned: bool = False,
             read_only: bool = False) -> RunState:
        """Read, validate and verify a journal; a StateError says what is wrong and that it was
        kept. A journal whose MAC does not verify is refused (UnsafeError, exit 3); one without
        a MAC is refused too unless ``trust_unsigned`` or ``read_only`` (showing it)."""
        path = self.path(run_id)
        check_state_dir(self.state_dir, writable=False)  # never read what others could plant
        try:
            raw = read_bytes(path)
        except FileNotFoundError:
            raise UnknownRunError(
                f"no run {run_id} in {self.runs_dir}; `drkit runs list` shows the runs"
            ) from None
        except OSError as exc:
            raise StateError(f"cannot read run journal {path}: {exc.strerror}") from None
        decoded = _decode(raw, run_id)
        if isinstance(decoded, str):
            raise StateError(f"run journal {path} is damaged ({decoded}); {_DAMAGED_ADVICE}")
        run, data, mac = decoded
        integrity = self._integrity(data, mac)
        if integrity == "tampered":
            raise UnsafeError(
                f"run {run_id}: its journal {path} was changed outside drkit (its integrity MAC "
                f"does not verify with {self.key_path}); refusing to use it, nothing was done and "
                "the file was left as it is: start a new run, which plans afresh")
        if integrity == "unsigned" and not (trust_unsigned or read_only):
            raise UnsafeError(
                f"run {run_id}: its journal {path} has no integrity MAC (written by a drkit from "
                "before journals were signed), so drkit cannot tell whether it was changed; "
                "check it with `drkit runs show`, then add --trust-journal, or start a new run")
        return run

    def list_runs(self) -> list[RunSummary | DamagedRun]:
        """All runs, newest first (by creation time, then id); damaged files are listed too."""
        entries: list[RunSummary | DamagedRun] = []
        check_state_dir(self.state_dir, writable=False)  # never read what others could plant
        paths = self.runs_dir.glob("*.json") if self.runs_dir.is_dir() else ()
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                decoded = _decode(read_bytes(path), path.stem)
            except OSError as exc:
                decoded = f"cannot read it: {exc.strerror}"
            mtime = format_time(datetime.fromtimestamp(path.lstat().st_mtime, UTC))
            if isinstance(decoded, str):
                entries.append(DamagedRun(path.stem, str(path), decoded, mtime))
                continue
            run, data, mac = decoded
            integrity = self._integrity(data, mac)
            if integrity == "tampered":
                entries.append(DamagedRun(path.stem, str(path), "changed outside drkit: its "
                                          "integrity MAC does not verify", mtime, TAMPERED))
            else:
                entries.append(RunSummary.of(run, path, integrity))
        entries.sort(key=_newest_first, reverse=True)
        return entries

    def _serialise(self, run: RunState) -> bytes:
        """JSON with secrets scrubbed from free text only, signed, checked to read back."""
        data = run.to_dict()
        hunted = self._redactor.secrets_in(data)
        clean = self._redactor.scrub_free_text(data, hunted)
        try:
            clean["mac"] = self.mac_of(clean, create_key=True)
            text = json.dumps(clean, indent=2, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StateError(f"run {run.run_id}: state is not plain JSON data: {exc}") from None
        problem = _read(text.encode("utf-8"), run.run_id)
        if isinstance(problem, str):  # never write what could not be read back
            raise StateError(f"run {run.run_id}: refusing to write an invalid journal: {problem}")
        return (text + "\n").encode("utf-8")

    def scrub_text(self, text: str) -> str:
        """``text`` (free text: command output, a message) with the known secrets cut out."""
        return self._redactor.scrub_text(text, tuple(sorted(self._redactor.secrets,
                                                            key=lambda s: (-len(s), s))))

    def key(self, create: bool = False) -> bytes | None:
        """The integrity key (created with the first journal when ``create``); None if there
        is none yet. A key file others can read, or not owned by this user, is refused."""
        if self._key is None:
            if not create and not os.path.lexists(self.key_path):
                return None
            try:
                if create:
                    ensure_dir(self.state_dir)
                self._key = read_or_create_key(self.key_path)
            except PermissionError as exc:
                raise UnsafeError(f"journal key {exc}; it signs the run journals, so only its "
                                  "owner may read it: `chmod 600` it if it is yours") from None
            except (OSError, ValueError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise StateError(f"cannot use the journal key {self.key_path}: {why}") from None
        return self._key

    def mac_of(self, data: dict[str, Any], create_key: bool = False) -> str:
        """The ``mac`` field for a journal holding ``data`` (its ``mac`` key is ignored)."""
        key = self.key(create=create_key)
        if key is None:
            raise StateError(f"no journal key {self.key_path} to check journals with")
        body = {k: v for k, v in data.items() if k != "mac"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                               allow_nan=False).encode("utf-8")
        digest = hmac.new(key, _MAC_CONTEXT + canonical, hashlib.sha256).hexdigest()
        return _MAC_PREFIX + digest

    def _integrity(self, data: dict[str, Any], mac: Any) -> Integrity:
        """Whether a journal's content is what drkit signed, was never signed, or was changed."""
        if mac is None:
            return "unsigned"
        if not isinstance(mac, str) or self.key() is None:
            return "tampered"  # a MAC, but no key it could have been made with
        return "signed" if hmac.compare_digest(mac, self.mac_of(data)) else "tampered"

    def _refuse_if_damaged(self, path: Path, run_id: str) -> None:
        try:
            if self._written.get(run_id) == file_identity(path):
                return  # ours, unchanged since we wrote it
            problem = _read(read_bytes(path), run_id)
        except FileNotFoundError:
            return
        except OSError as exc:
            problem = f"cannot read it: {exc.strerror}"
        if isinstance(problem, str):
            raise StateError(
                f"refusing to save run {run_id}: run journal {path} is damaged "
                f"({problem}); {_DAMAGED_ADVICE}"
            )


def _read(raw: bytes, run_id: str) -> RunState | str:
    """The run in a journal file's bytes, or what is wrong with them (without quoting them)."""
    decoded = _decode(raw, run_id)
    return decoded if isinstance(decoded, str) else decoded[0]


def _decode(raw: bytes, run_id: str) -> tuple[RunState, dict[str, Any], Any] | str:
    """The run in a journal file's bytes with its raw data and ``mac`` (None if it has none),
    or what is wrong with them (without quoting them)."""
    if not raw.strip():
        return "the file is empty; a write was cut short?"
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text at byte {exc.start}"
    try:
        data = json.loads(decoded)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(decoded.rstrip()) or exc.msg.startswith("Unterminated string"):
            return f"the JSON ends early at line {exc.lineno} column {exc.colno}; truncated?"
        return f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    mac = data.get("mac") if isinstance(data, dict) else None
    try:
        run = _parse_run({k: v for k, v in data.items() if k != "mac"}
                         if isinstance(data, dict) else data)
    except Invalid as exc:
        return str(exc)
    if run.run_id != run_id:
        return f"the file is named {run_id}.json but holds run {run.run_id}"
    return run, data, mac


def _newest_first(entry: RunSummary | DamagedRun) -> tuple[datetime, str]:
    """Sort key: creation time, or for a damaged file (no trustworthy content) its mtime."""
    stamp = entry.created_at if isinstance(entry, RunSummary) else entry.modified_at
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC), entry.run_id
    except ValueError:
        return datetime.min.replace(tzinfo=UTC), entry.run_id
