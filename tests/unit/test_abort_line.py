"""The last line of a failed run (issue 16 §2, §4): a run that changed nothing and gave its lock
back is not told to roll back; one that started a side effect is told to resume or roll back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drkit.commands.failover import abort_line
from drkit.errors import DrkitError
from drkit.runbook.session import Session
from drkit.runbook.spec import parse_runbook, validate
from drkit.runbook.steps import schemas
from tests.helpers import offline_settings


def _failed_run(tmp_path: Path, steps: str) -> tuple[Session, str, list[str]]:
    said: list[str] = []
    settings = offline_settings(tmp_path)
    book = validate(parse_runbook(f'name = "failover"\n{steps}'.encode(),
                                  tmp_path / "failover.toml"), schemas())
    session = Session.open(settings, said.append)
    run = session.new_run("failover", book, "primary", "backup", {"planned": False})
    with pytest.raises(DrkitError):
        session.start(run, book, approve=None, interactive=False)
    return session, run.run_id, said


def _exec(step_id: str, script: str) -> str:
    return (f'[[steps]]\nid = "{step_id}"\nuses = "exec"\n'
            f"with = {{ command = [\"sh\", \"-c\", {json.dumps(script)}] }}\n")


def test_a_run_that_changed_nothing_is_not_told_to_roll_back(tmp_path: Path) -> None:
    # approve is read-only: with no stored plan and no terminal it fails before any side effect.
    session, run_id, said = _failed_run(tmp_path, '[[steps]]\nid = "approve"\nuses = "approve"\n')
    assert f"run {run_id}: nothing was changed; lock released" in said
    line = abort_line(session, run_id)
    assert line is not None
    assert "rollback" not in line and "roll back" in line  # "nothing to roll back"
    assert line.startswith(f"run {run_id} failed: nothing was changed and its lock is released")
    assert "pass the override flag it names" in line
    # The runbook was a file, not found again by its name: the command names it.
    assert line.endswith(f"run `drkit failover --from primary --to backup --runbook "
                         f"{tmp_path / 'failover.toml'}` again")


def test_a_run_that_started_a_side_effect_is_told_to_resume_or_roll_back(tmp_path: Path) -> None:
    session, run_id, said = _failed_run(tmp_path, _exec("hook", "exit 4"))
    assert not any("lock released" in m for m in said)  # exec is a side effect: lock kept
    line = abort_line(session, run_id)
    assert line is not None
    assert f"resume with `drkit failover --resume {run_id}" in line
    assert line.endswith(f"undo what it did with `drkit runs rollback {run_id}`")
