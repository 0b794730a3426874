"""The runbook engine with steps that need no Kafka: order, conditions, retries, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drkit.errors import DrkitError
from drkit.runbook.engine import RunContext, run_steps
from drkit.runbook.session import Session
from drkit.runbook.spec import parse_runbook, validate
from drkit.runbook.steps import BUILTIN, schemas
from tests.helpers import offline_settings


def _context(tmp_path: Path, text: str, **args: Any) -> RunContext:
    settings = offline_settings(tmp_path)
    book = validate(parse_runbook(text.encode(), tmp_path / "rb.toml"), schemas())
    session = Session.open(settings, lambda _m: None)
    run = session.new_run("failover", book, "primary", "backup", {"planned": False, **args})
    session.journal.create(run)
    return RunContext(settings, run, book, session.journal, session.audit, lambda _m: None)


def _exec(step_id: str, script: str, extra: str = "") -> str:
    return (f'[[steps]]\nid = "{step_id}"\nuses = "exec"\n{extra}'
            f"with = {{ command = [\"sh\", \"-c\", {json.dumps(script)}] }}\n")


def _journal(ctx: RunContext) -> dict[str, Any]:
    return json.loads(ctx.journal.path(ctx.run.run_id).read_text())


def test_steps_run_in_order_with_run_context_in_their_environment(tmp_path: Path) -> None:
    log = tmp_path / "log"
    ctx = _context(tmp_path, 'name = "t"\n'
                   + _exec("one", f'echo "one $DRKIT_RUN_ID $DRKIT_SOURCE" >> {log}')
                   + _exec("two", f'echo "two $DRKIT_STEP_ID $DRKIT_TARGET" >> {log}; echo hi'))
    run = run_steps(ctx, BUILTIN)
    assert run.status == "succeeded"
    assert log.read_text().splitlines() == [f"one {run.run_id} primary", "two two backup"]
    saved = _journal(ctx)
    assert saved["steps"][1]["outputs"]["stdout"] == "hi\n"
    assert [e["event"] for e in ctx.audit.read(run.run_id)].count("step-succeeded") == 2


def test_when_skips_and_on_failure_continue_goes_on(tmp_path: Path) -> None:
    ctx = _context(tmp_path, 'name = "t"\n'
                   + _exec("fence", "exit 0", 'when = "planned"\n')
                   + _exec("flaky", "echo broken >&2; exit 4", 'on_failure = "continue"\n')
                   + _exec("last", "exit 0"))
    run = run_steps(ctx, BUILTIN)
    states = {s.id: s.status for s in run.steps}
    assert states == {"fence": "skipped", "flaky": "failed", "last": "succeeded"}
    assert "exited 4: broken" in (run.step("flaky").error or "")


def test_retries_then_abort_leaves_a_failed_resumable_run(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    ctx = _context(tmp_path, 'name = "t"\n'
                   + _exec("try", f"echo x >> {counter}; exit 1", "retries = 2\n")
                   + _exec("never", "exit 0"))
    with pytest.raises(DrkitError, match="exited 1"):
        run_steps(ctx, BUILTIN)
    assert counter.read_text().count("x") == 3
    saved = _journal(ctx)
    assert saved["status"] == "failed"
    assert [s["status"] for s in saved["steps"]] == ["failed", "pending"]
    assert saved["steps"][0]["attempts"] == 3


def test_resume_skips_succeeded_steps(tmp_path: Path) -> None:
    log, gate = tmp_path / "log", tmp_path / "gate"
    ctx = _context(tmp_path, 'name = "t"\n' + _exec("a", f"echo a >> {log}")
                   + _exec("b", f"test -f {gate} && echo b >> {log}"))
    with pytest.raises(DrkitError):
        run_steps(ctx, BUILTIN)
    gate.touch()
    run_steps(ctx, BUILTIN)  # the same run, resumed
    assert log.read_text().split() == ["a", "b"]


def test_exec_timeout_and_missing_command(tmp_path: Path) -> None:
    ctx = _context(tmp_path, 'name = "t"\n[[steps]]\nid = "slow"\nuses = "exec"\n'
                   'with = { command = ["sleep", "5"], timeout = "200ms" }\n')
    with pytest.raises(DrkitError, match="did not finish within"):
        run_steps(ctx, BUILTIN)
    ctx = _context(tmp_path, 'name = "t"\n[[steps]]\nid = "nope"\nuses = "exec"\n'
                   'with = { command = ["no-such-drkit-command"] }\n')
    with pytest.raises(DrkitError, match="command not found: no-such-drkit-command"):
        run_steps(ctx, BUILTIN)


def test_keyboard_interrupt_marks_the_step_and_run_interrupted(tmp_path: Path) -> None:
    class Boom:
        schema = schemas()["dns-flip"]

        def run(self, *_a: object) -> dict[str, Any]:
            raise KeyboardInterrupt

    ctx = _context(tmp_path, 'name = "t"\n[[steps]]\nid = "dns"\nuses = "dns-flip"\n')
    with pytest.raises(KeyboardInterrupt):
        run_steps(ctx, {**BUILTIN, "dns-flip": Boom()})
    saved = _journal(ctx)
    assert saved["status"] == "interrupted" and saved["steps"][0]["status"] == "interrupted"
    assert run_steps(ctx, BUILTIN).status == "succeeded"  # and it can be finished


def test_placeholder_runbooks_are_refused(tmp_path: Path) -> None:
    settings = offline_settings(tmp_path)
    book = validate(parse_runbook(b'name = "x"\nplaceholder = true\n[[steps]]\nid = "d"\n'
                                  b'uses = "dns-flip"\n', tmp_path / "x.toml"), schemas())
    with pytest.raises(DrkitError, match="placeholder"):
        Session.open(settings, print).new_run("failover", book, "primary", "backup", {})
