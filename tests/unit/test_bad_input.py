"""The bad-input corpus (issue 16 §3): drkit run as a user runs it (the ``drkit`` console script,
in a subprocess) on broken configs, runbooks, state files, command lines and environments.

Every case asserts the exit code, exactly one line of output (``drkit: error: …`` on stderr, or
``DRKIT UNKNOWN - …`` on stdout for ``status``), the file/field it names, no "Traceback" anywhere,
and that nothing was half-written: the whole working tree (config dir and state dir) is byte for
byte, mode for mode, as it was — no temp file left, no lock, no journal.

The inputs live in tests/badinput/ (configs/, mm2/, runbooks/, journals/). No cluster is needed:
the configured brokers are closed ports, and every case fails before contacting them.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import OFFLINE_MM2

CORPUS = Path(__file__).resolve().parents[1] / "badinput"
RUN_ID = "20261125T204501Z-failover-primary-backup-3f9a1c"
ROOT = os.geteuid() == 0
DRKIT = shutil.which("drkit")
OK_TOML = 'mm2_config = "mm2.properties"\nstate_dir = "state"\n'

pytestmark = pytest.mark.skipif(DRKIT is None, reason="the drkit console script is not "
                                "installed (pip install -e .)")


@dataclass
class Case:
    id: str
    argv: list[str]
    code: int
    says: str  # a substring of the one line (names the file/field/host and what to do)
    toml: str | None = OK_TOML  # conf/drkit.toml (None: copy from the corpus, see files)
    files: dict[str, str] = field(default_factory=dict)  # conf-relative path <- corpus path
    setup: Callable[[Path], None] | None = None
    skip: str | None = None


def _journal(name: str) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        runs = work / "conf" / "state" / "runs"
        runs.mkdir(parents=True, mode=0o700)
        (work / "conf" / "state").chmod(0o700)
        shutil.copyfile(CORPUS / "journals" / name, runs / f"{RUN_ID}.json")
    return setup


def _state_mode(mode: int) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        state = work / "conf" / "state"
        state.mkdir()
        state.chmod(mode)
    return setup


def _mm2_is_a_directory(work: Path) -> None:
    (work / "conf" / "mm2.properties").unlink()
    (work / "conf" / "mm2.properties").mkdir()


def _unreadable_mm2(work: Path) -> None:
    (work / "conf" / "mm2.properties").chmod(0o000)


FAILOVER = ["failover", "--from", "primary", "--to", "backup", "--yes"]
PLAN = ["plan", "--from", "primary", "--to", "backup"]

CASES = [
    # --- configs ---------------------------------------------------------------------------
    Case("config-bad-toml", ["runs", "list"], 2, "drkit.toml:3: invalid TOML",
         toml=None, files={"drkit.toml": "configs/bad-toml.toml"}),
    Case("config-unknown-key", ["runs", "list"], 2, "unknown top-level key 'stat_dir'",
         toml=None, files={"drkit.toml": "configs/unknown-key.toml"}),
    Case("config-missing-mm2", ["runs", "list"], 2,
         "absent.properties: No such file or directory (mm2_config in",
         toml=None, files={"drkit.toml": "configs/missing-mm2.toml"}),
    Case("config-missing-mm2-line", ["runs", "list"], 2, "drkit.toml line 4",
         toml=None, files={"drkit.toml": "configs/missing-mm2.toml"}),
    Case("config-bad-status-threshold", ["status"], 3,
         "DRKIT UNKNOWN - [status] lag_seconds_warn in drkit.toml must be a number",
         toml=None, files={"drkit.toml": "configs/bad-status-threshold.toml"}),
    Case("mm2-bad-regex", PLAN, 2, "mm2.properties:5: primary->backup.groups: invalid regex",
         files={"mm2.properties": "mm2/bad-regex.properties"}),
    Case("mm2-bad-integer", PLAN, 2,
         "mm2.properties:5: primary->backup.sync.group.offsets.interval.seconds = 'soon' is "
         "not an integer", files={"mm2.properties": "mm2/bad-integer.properties"}),
    Case("mm2-jks-plan", ["plan", "--from", "backup", "--to", "primary"], 2,
         "JKS truststore /etc/kafka/truststore.jks for cluster primary",
         files={"mm2.properties": "mm2/jks-truststore.properties"}),
    Case("mm2-jks-status", ["status", "--timeout", "2"], 3,
         "DRKIT UNKNOWN - JKS truststore /etc/kafka/truststore.jks for cluster primary",
         files={"mm2.properties": "mm2/jks-truststore.properties"}),
    Case("mm2-is-a-directory", ["runs", "list"], 2, "mm2.properties: Is a directory",
         setup=_mm2_is_a_directory),
    Case("mm2-unreadable", ["runs", "list"], 2, "mm2.properties: Permission denied",
         setup=_unreadable_mm2,
         skip="root reads a chmod 000 file: the check cannot bite" if ROOT else None),
    Case("plan-bad-group-regex", [*PLAN, "--group", "orders-(.*"], 2, "orders-(.*"),
    Case("plan-unknown-cluster", ["plan", "--from", "primary", "--to", "nowhere"], 2,
         "unknown cluster 'nowhere'; clusters in"),
    # --- runbooks --------------------------------------------------------------------------
    Case("runbook-bad-toml", [*FAILOVER, "--runbook", "RB/bad-toml.toml"], 2,
         "bad-toml.toml:2: invalid TOML"),
    Case("runbook-unknown-step", [*FAILOVER, "--runbook", "RB/unknown-step.toml"], 2,
         'unknown step type "frobnicate"'),
    Case("runbook-bad-duration", [*FAILOVER, "--runbook", "RB/bad-duration.toml"], 2,
         'field "timeout": string "5 parsecs" is not a duration'),
    # --- state files -----------------------------------------------------------------------
    Case("journal-damaged", ["failover", "--resume", RUN_ID, "--yes"], 1,
         f"run journal {{state}}/runs/{RUN_ID}.json is damaged", setup=_journal("damaged.json")),
    Case("journal-truncated", ["failover", "--resume", RUN_ID, "--yes"], 1, "is damaged",
         setup=_journal("truncated.json")),
    Case("journal-empty", ["runs", "show", RUN_ID], 1, "the file is empty",
         setup=_journal("empty.json")),
    Case("journal-wrong-types", ["runs", "rollback", RUN_ID, "--yes"], 1, "is damaged",
         setup=_journal("wrong-types.json")),
    Case("state-dir-world-writable", ["runs", "list"], 2,
         "state directory {state} is writable by group or others (mode 0777)",
         setup=_state_mode(0o777)),
    Case("state-dir-group-writable-resume", ["failover", "--resume", RUN_ID, "--yes"], 2,
         "is writable by group or others (mode 0770)", setup=_state_mode(0o770)),
    # --- command lines ---------------------------------------------------------------------
    Case("resume-unknown-run", ["failover", "--resume", "nope", "--yes"], 2,
         "no run nope in {state}/runs; `drkit runs list` shows the runs"),
    Case("show-unknown-run", ["runs", "show", RUN_ID], 2, f"no run {RUN_ID}"),
    Case("rollback-unknown-run", ["runs", "rollback", "nope", "--yes"], 2, "no run nope"),
    Case("resume-path-as-run-id", ["failover", "--resume", "../../etc/passwd", "--yes"], 2,
         "is not a run id"),
    Case("bad-output", ["runs", "list", "--output", "xml"], 2,
         "'xml' is not one of 'table', 'json' (see `drkit runs list --help`)"),
    Case("unknown-option", ["runs", "list", "--colour"], 2, "No such option '--colour'"),
    Case("resume-with-clusters", ["failover", "--resume", RUN_ID, "--from", "primary"], 2,
         "--resume takes the clusters from the run's journal; leave out --from/--to"),
    Case("failover-without-to", ["failover", "--from", "primary", "--yes"], 2,
         "say which way to fail over: --from CLUSTER --to CLUSTER"),
    Case("missing-argument", ["runs", "show"], 2, "Missing argument 'RUN_ID'"),
]


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every path under ``root``: mode, size and a digest of its content (files)."""
    out = {}
    for path in sorted([root, *root.rglob("*")]):
        st = path.lstat()
        digest = ""
        if path.is_file() and not path.is_symlink() and st.st_mode & 0o400:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        out[str(path.relative_to(root))] = (st.st_mode, st.st_size, digest)
    return out


def _workdir(tmp_path: Path, case: Case) -> Path:
    work = tmp_path / "work"
    conf = work / "conf"
    conf.mkdir(parents=True)
    (conf / "mm2.properties").write_text(OFFLINE_MM2)
    if case.toml is not None:
        (conf / "drkit.toml").write_text(case.toml)
    for dest, src in case.files.items():
        shutil.copyfile(CORPUS / src, conf / dest)
    if case.setup is not None:
        case.setup(work)
    return work


def drkit(work: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRKIT_")}
    env["DRKIT_CONFIG"] = str(work / "conf" / "drkit.toml")
    argv = [a.replace("RB/", f"{CORPUS / 'runbooks'}/") for a in argv]
    return subprocess.run([str(DRKIT), *argv], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def assert_one_line(res: subprocess.CompletedProcess[str], code: int, says: str) -> str:
    output = res.stdout + res.stderr
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert res.returncode == code, output
    assert len(lines) == 1, output
    assert says in lines[0], output
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_touches_nothing(tmp_path: Path, case: Case) -> None:
    if case.skip:
        pytest.skip(case.skip)
    work = _workdir(tmp_path, case)
    before = _snapshot(work)
    res = drkit(work, case.argv)
    line = assert_one_line(res, case.code, case.says.format(state=work / "conf" / "state"))
    if res.stderr.strip():
        assert line.startswith("drkit: error: "), line
    assert _snapshot(work) == before  # nothing created, changed or half-written


# --- environments: a read-only state dir, a full disk, another user's state dir -------------


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Callable[[Path, str], None]]:
    """Mount a tmpfs (root only; skipped with the reason otherwise), unmounted afterwards."""
    done: list[Path] = []

    def mount(where: Path, options: str) -> None:
        if not ROOT:
            pytest.skip("mounting a tmpfs needs root")
        where.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
        done.append(where)

    yield mount
    for where in reversed(done):
        subprocess.run(["umount", str(where)], check=True)


def test_read_only_state_dir(tmp_path: Path, mounted: Callable[[Path, str], None]) -> None:
    work = _workdir(tmp_path, Case("ro", [], 0, ""))
    state = work / "conf" / "state"
    if ROOT:
        mounted(state, "ro,size=64k,mode=0700")
    else:
        state.mkdir()
        state.chmod(0o500)
    before = _snapshot(work)
    res = drkit(work, FAILOVER)
    assert_one_line(res, 2, f"state directory {state} is not writable")
    assert _snapshot(work) == before


def test_state_dir_that_cannot_be_created(tmp_path: Path,
                                          mounted: Callable[[Path, str], None]) -> None:
    work = _workdir(tmp_path, Case("ro-parent", [], 0, ""))
    (work / "conf" / "drkit.toml").write_text(
        'mm2_config = "mm2.properties"\nstate_dir = "ro/state"\n')
    mounted(work / "conf" / "ro", "ro,size=64k")
    before = _snapshot(work)
    res = drkit(work, FAILOVER)
    assert_one_line(res, 2, f"cannot create state directory {work / 'conf' / 'ro' / 'state'}: "
                            "Read-only file system")
    assert _snapshot(work) == before


def test_full_disk(tmp_path: Path, mounted: Callable[[Path, str], None]) -> None:
    work = _workdir(tmp_path, Case("full", [], 0, ""))
    state = work / "conf" / "state"
    mounted(state, "size=64k,mode=0700")
    fd = os.open(state / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # fill it to the last byte
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    res = drkit(work, FAILOVER)
    assert_one_line(res, 2, "No space left on device; free space on its file system")
    left = sorted(str(p.relative_to(state)) for p in state.rglob("*"))
    assert not [p for p in left if p.endswith(".tmp") or p.endswith(".lock")
                or p.startswith("runs/")], left  # no lock, no journal, no temp file
    # The next attempt, with space again, is not blocked by anything the failed one left.
    (state / "filler").unlink()
    res = drkit(work, ["runs", "list"])
    assert res.returncode == 0 and "Traceback" not in res.stdout + res.stderr


@pytest.fixture
def other_user() -> Iterator[pwd.struct_passwd]:
    """A throw-away second Unix user (needs root; removed afterwards)."""
    if not ROOT:
        pytest.skip("needs root to create a second Unix user (useradd)")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("useradd/userdel not installed: cannot create a second Unix user")
    name = f"drkit-b{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        gone = subprocess.run(["userdel", name], check=False, capture_output=True, text=True)
        assert gone.returncode == 0, f"userdel {name}: {gone.stderr.strip()}"


def test_state_dir_owned_by_another_user_is_refused(tmp_path: Path,
                                                    other_user: pwd.struct_passwd) -> None:
    """Issue 17 §3 (a): another user ran drkit first, so owns the state dir (0755), and planted
    runs/ with a journal whose exec step would run as root on --resume."""
    work = _workdir(tmp_path, Case("foreign", [], 0, ""))
    state = work / "conf" / "state"
    marker = tmp_path / "planted-ran"
    (state / "runs").mkdir(parents=True)
    state.chmod(0o755)
    (state / "runs").chmod(0o755)
    (state / "runs" / f"{RUN_ID}.json").write_text(
        f'{{"format": 1, "run_id": "{RUN_ID}", "runbook_path": "/tmp/x.toml", '
        f'"note": "touch {marker}"}}\n')
    for path in (state, state / "runs", state / "runs" / f"{RUN_ID}.json"):
        os.chown(path, other_user.pw_uid, other_user.pw_gid)
    before = _snapshot(work)
    for argv in (["runs", "list"], ["failover", "--resume", RUN_ID, "--yes"], FAILOVER,
                 ["runs", "rollback", RUN_ID, "--yes"]):
        res = drkit(work, argv)
        assert_one_line(res, 2, f"state directory {state} is owned by {other_user.pw_name} "
                                f"(uid {other_user.pw_uid}), not by you")
        assert "chmod 700" in res.stderr
    assert _snapshot(work) == before and not marker.exists()


def test_subdirectory_swapped_by_another_user_is_refused(
        tmp_path: Path, other_user: pwd.struct_passwd) -> None:
    """runs/ replaced by a symlink (owned by the other user) to a directory they control."""
    work = _workdir(tmp_path, Case("swapped", [], 0, ""))
    state = work / "conf" / "state"
    state.mkdir(mode=0o700)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, other_user.pw_uid, other_user.pw_gid)
    (state / "runs").symlink_to(theirs)
    os.lchown(state / "runs", other_user.pw_uid, other_user.pw_gid)
    before = _snapshot(work)
    res = drkit(work, ["runs", "list"])
    assert_one_line(res, 2, f"state directory {state / 'runs'} is a symlink drkit did not make")
    res = drkit(work, FAILOVER)
    assert_one_line(res, 2, "is a symlink drkit did not make")
    assert _snapshot(work) == before and list(theirs.iterdir()) == []
