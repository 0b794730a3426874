"""Where runbooks come from: the packaged set, ``runbook_dir`` in drkit.toml, or an explicit
``--runbook FILE`` — never the current directory, and on resume never the journal's path."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drkit.cli import cli
from drkit.errors import EXIT_UNSAFE, ConfigError, UnsafeError
from drkit.runbook.session import Session, load_checked, search_dirs
from drkit.runbook.spec import packaged_runbook_dir
from drkit.runbook.state import Journal, RunState
from tests.helpers import OFFLINE_MM2, offline_settings


def _marker_runbook(path: Path, name: str, marker: Path) -> Path:
    """A runbook whose only step writes ``marker``: proof that this file's steps ran."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'name = "{name}"\n[[steps]]\nid = "plant"\nuses = "exec"\n'
                    f'with = {{ command = ["sh", "-c", "echo ran >> {marker}"] }}\n')
    return path


@pytest.fixture
def hostile_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current directory with runbooks/failover.toml and runbooks/failback.toml planted."""
    cwd = tmp_path / "cwd"
    for name in ("failover", "failback"):
        _marker_runbook(cwd / "runbooks" / f"{name}.toml", name, tmp_path / "planted-ran")
    monkeypatch.chdir(cwd)
    return cwd


def test_search_dirs_are_runbook_dir_then_packaged(tmp_path: Path, hostile_cwd: Path) -> None:
    settings = offline_settings(tmp_path)
    assert search_dirs(settings) == [packaged_runbook_dir()]
    mine = replace(settings, runbook_dir=tmp_path / "mine")
    assert search_dirs(mine) == [tmp_path / "mine", packaged_runbook_dir()]


def test_a_runbook_in_the_current_directory_is_not_used(tmp_path: Path,
                                                          hostile_cwd: Path) -> None:
    book = load_checked(offline_settings(tmp_path), "failover")
    assert book.path == packaged_runbook_dir() / "failover.toml"
    assert "plant" not in book.step_ids


def test_runbook_dir_still_wins_over_the_packaged_one(tmp_path: Path, hostile_cwd: Path) -> None:
    mine = _marker_runbook(tmp_path / "mine" / "failover.toml", "failover", tmp_path / "m")
    settings = replace(offline_settings(tmp_path), runbook_dir=mine.parent)
    assert load_checked(settings, "failover").path == mine


def test_an_explicit_file_is_used(tmp_path: Path, hostile_cwd: Path) -> None:
    settings = offline_settings(tmp_path)
    book = load_checked(settings, str(hostile_cwd / "runbooks" / "failover.toml"))
    assert book.step_ids == ("plant",)


def _config(tmp_path: Path, runbook_dir: Path | None = None) -> Path:
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "mm2.properties").write_text(OFFLINE_MM2)
    extra = f'runbook_dir = "{runbook_dir}"\n' if runbook_dir else ""
    (conf / "drkit.toml").write_text('mm2_config = "mm2.properties"\nstate_dir = "state"\n'
                                     + extra)
    return conf / "drkit.toml"


def test_cli_failover_does_not_run_the_current_directorys_runbook(
        tmp_path: Path, hostile_cwd: Path) -> None:
    # failback is a placeholder in the packaged set, so the packaged one is refused at once; the
    # planted failback.toml (one exec step) would run and succeed if ./runbooks were searched.
    res = CliRunner().invoke(cli, ["--config", str(_config(tmp_path)), "failover",
                                   "--from", "primary", "--to", "backup", "--runbook", "failback",
                                   "--yes"])
    assert res.exit_code == 2, res.output
    assert str(packaged_runbook_dir() / "failback.toml") in res.output
    assert "placeholder" in res.output
    assert not (tmp_path / "planted-ran").exists()


# ── resume ─────────────────────────────────────────────────────────────────────────────────


def _started_run(tmp_path: Path, runbook: str) -> tuple[Session, RunState]:
    """A run created (journaled, not yet run) with ``runbook`` (a name in runbook_dir/, or a
    path), as `drkit failover` leaves it when killed before its first step."""
    settings = replace(offline_settings(tmp_path), runbook_dir=tmp_path / "rb")
    session = Session.open(settings, lambda _m: None)
    book = load_checked(settings, runbook)
    run = session.new_run("failover", book, "primary", "backup", {"planned": False})
    session.journal.create(run)
    return session, run


def _edit_journal(session: Session, run_id: str, **fields: Any) -> None:
    path = session.journal.path(run_id)
    data = json.loads(path.read_text())
    data.update(fields)
    # Re-signed with the journal key: these tests check the checks behind the journal's MAC
    # (an edit without the key is refused earlier, see test_journal_integrity).
    data["mac"] = session.journal.mac_of(data)
    path.write_text(json.dumps(data))


def _resume(session: Session, run_id: str, runbook_arg: str | None = None) -> RunState:
    return session.resume(run_id, approve=None, interactive=False, runbook_arg=runbook_arg)


def test_resume_refinds_the_runbook_and_runs_it(tmp_path: Path) -> None:
    marker = tmp_path / "legit-ran"
    _marker_runbook(tmp_path / "rb" / "mine.toml", "mine", marker)
    session, run = _started_run(tmp_path, "mine")
    assert _resume(session, run.run_id).status == "succeeded"
    assert marker.read_text() == "ran\n"


def test_resume_ignores_a_journal_pointing_at_another_file(tmp_path: Path) -> None:
    _marker_runbook(tmp_path / "rb" / "mine.toml", "mine", tmp_path / "legit-ran")
    session, run = _started_run(tmp_path, "mine")
    evil = _marker_runbook(tmp_path / "evil" / "x.toml", "mine", tmp_path / "evil-ran")
    evil_digest = load_checked(session.settings, str(evil)).digest
    _edit_journal(session, run.run_id, runbook_path=str(evil), runbook_digest=evil_digest)

    with pytest.raises(UnsafeError) as err:
        _resume(session, run.run_id)
    message = str(err.value)
    assert err.value.exit_code == EXIT_UNSAFE and "\n" not in message
    assert str(tmp_path / "rb" / "mine.toml") in message and str(evil) in message
    assert evil_digest[:12] in message
    assert not (tmp_path / "evil-ran").exists() and not (tmp_path / "legit-ran").exists()


@pytest.mark.parametrize("name", ["../evil/x", "/tmp/evil.toml", "x.toml", ".."])
def test_resume_refuses_a_journal_runbook_name_that_is_a_path(tmp_path: Path, name: str) -> None:
    _marker_runbook(tmp_path / "rb" / "mine.toml", "mine", tmp_path / "legit-ran")
    session, run = _started_run(tmp_path, "mine")
    _edit_journal(session, run.run_id, runbook=name)
    with pytest.raises(UnsafeError, match="is not a runbook name"):
        _resume(session, run.run_id)


def test_resume_refuses_a_runbook_changed_since_the_start(tmp_path: Path) -> None:
    book = _marker_runbook(tmp_path / "rb" / "mine.toml", "mine", tmp_path / "legit-ran")
    session, run = _started_run(tmp_path, "mine")
    book.write_text(book.read_text() + "# edited\n")
    with pytest.raises(UnsafeError, match="is not the one the run started with"):
        _resume(session, run.run_id)
    assert not (tmp_path / "legit-ran").exists()


def test_resume_of_a_run_from_an_explicit_file_needs_that_file_again(tmp_path: Path) -> None:
    marker = tmp_path / "file-ran"
    book = _marker_runbook(tmp_path / "elsewhere" / "custom.toml", "custom", marker)
    session, run = _started_run(tmp_path, str(book))
    with pytest.raises(ConfigError, match="--runbook FILE"):
        _resume(session, run.run_id)
    other = _marker_runbook(tmp_path / "other" / "custom.toml", "custom", tmp_path / "other-ran")
    other.write_text(other.read_text() + "# not the same file\n")
    with pytest.raises(UnsafeError, match="is not the one the run started with"):
        _resume(session, run.run_id, str(other))
    assert not marker.exists() and not (tmp_path / "other-ran").exists()
    assert _resume(session, run.run_id, str(book)).status == "succeeded"
    assert marker.read_text() == "ran\n"


def test_cli_resume_never_runs_the_file_the_journal_points_at(tmp_path: Path) -> None:
    rb = tmp_path / "rb"
    legit = _marker_runbook(rb / "mine.toml", "mine", tmp_path / "legit-ran")
    config = _config(tmp_path, rb)
    res = CliRunner().invoke(cli, ["--config", str(config), "failover", "--from", "primary",
                                   "--to", "backup", "--runbook", "mine", "--yes"])
    assert res.exit_code == 0, res.output
    journal = next((config.parent / "state" / "runs").glob("*.json"))
    (tmp_path / "legit-ran").unlink()
    evil = _marker_runbook(tmp_path / "evil.toml", "mine", tmp_path / "evil-ran")
    data = json.loads(journal.read_text())
    legit_digest = data["runbook_digest"]
    data.update(status="failed", runbook_path=str(evil),
                runbook_digest=hashlib.sha256(evil.read_bytes()).hexdigest())
    data["steps"][0]["status"] = "failed"
    signer = Journal(config.parent / "state")  # re-signed: the checks behind the MAC
    data["mac"] = signer.mac_of(data)
    journal.write_text(json.dumps(data))

    resume = ["--config", str(config), "failover", "--resume", journal.stem]
    res = CliRunner().invoke(cli, resume)
    assert res.exit_code == EXIT_UNSAFE, res.output
    assert str(legit) in res.output and str(evil) in res.output
    assert not (tmp_path / "evil-ran").exists() and not (tmp_path / "legit-ran").exists()

    # Only the path edited: the runbook found by name (same digest) runs, never the evil file.
    data["runbook_digest"] = legit_digest
    data["mac"] = signer.mac_of(data)
    journal.write_text(json.dumps(data))
    res = CliRunner().invoke(cli, resume)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "legit-ran").exists() and not (tmp_path / "evil-ran").exists()
