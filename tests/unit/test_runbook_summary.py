"""Issue 17 §1: the approval prompt and ``drkit runs show`` both show the runbook's path, its
sha-256 digest and its steps — the same text, from one function."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from drkit.cli import cli
from drkit.runbook import render
from drkit.runbook.session import Session, load_checked
from drkit.runbook.state import StepState
from drkit.runbook.steps import approve
from drkit.textsafe import safe
from tests.helpers import OFFLINE_MM2


def _setup(tmp_path: Path) -> tuple[Path, Session, Any]:
    """drkit.toml, a session on its state dir, and a runbook (an exec step first) whose file
    name holds a control sequence."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "mm2.properties").write_text(OFFLINE_MM2)
    config = conf / "drkit.toml"
    config.write_text('mm2_config = "mm2.properties"\nstate_dir = "state"\n')
    book_path = tmp_path / "my\x1b[2Jbook.toml"
    steps = "".join(f'[[steps]]\nid = "{s}"\nuses = "{s}"\n' for s in (
        "preflight", "neutralise-mm2", "translate", "approve", "commit", "verify"))
    book_path.write_text('name = "mine"\n' + steps.replace(
        'id = "preflight"', 'id = "fence"\nuses = "exec"\nwith = { command = ["true"] }\n'
                            '[[steps]]\nid = "preflight"', 1))
    from drkit.config import load_settings

    settings = load_settings(config)
    session = Session.open(settings, lambda _m: None)
    book = load_checked(settings, str(book_path))
    return config, session, book


def test_runbook_summary_names_path_full_digest_and_every_step(tmp_path: Path) -> None:
    _config, _session, book = _setup(tmp_path)
    text = approve.runbook_summary(book)
    digest = hashlib.sha256(book.path.read_bytes()).hexdigest()
    assert f"sha-256 {digest}" in text  # whole: comparable with sha256sum
    assert safe(str(book.path)) in text and "\x1b" not in text  # shown escaped
    for step in book.steps:
        assert f"{step.id} ({step.uses})" in text
    assert all(len(line) <= 100 for line in text.splitlines()[1:])  # steps wrap
    many = render.runbook_summary("x", "/p", "d", [(f"step-{i:02d}", "exec") for i in range(30)])
    lines = many.splitlines()
    assert len(lines) > 4 and all(len(line) <= 100 for line in lines)
    assert many.count("(exec)") == 30 and lines[-1].endswith("step-29 (exec)")
    assert render.runbook_summary("x", "/p", "d", []).endswith("steps: (none)")


def test_runs_show_prints_what_the_approval_prompt_showed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, session, book = _setup(tmp_path)
    run = session.new_run("failover", book, "primary", "backup", {"planned": False})
    session.journal.create(run)

    # The approval prompt, as the approve step shows it on a terminal.
    plan = SimpleNamespace(digest=lambda: "ab" * 32)
    shown: list[str] = []
    prompt = SimpleNamespace(show=shown.append, confirm=lambda _q: True)
    ctx = SimpleNamespace(
        approve=None, interactive=True, prompt=prompt, runbook=book, run=run,
        source="primary", target="backup",
        outputs_of=lambda uses: {"digest": plan.digest()} if uses == "translate" else {},
        audit=SimpleNamespace(append=lambda *a, **k: None))
    monkeypatch.setattr(approve, "the_plan", lambda _ctx: plan)
    monkeypatch.setattr(approve, "plan_table", lambda _plan: "the plan")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    spec = next(s for s in book.steps if s.id == "approve")
    approve.ApproveStep().run(ctx, spec, StepState("approve", "approve"))  # type: ignore[arg-type]
    prompt_text = shown[0]
    assert shown[1] == "the plan"  # the runbook is shown before the plan
    assert prompt_text == approve.runbook_summary(book)

    res = CliRunner().invoke(cli, ["--config", str(config), "runs", "show", run.run_id])
    assert res.exit_code == 0, res.output
    assert prompt_text in res.stdout  # the same lines, from the journal
    assert book.digest in res.stdout and "fence (exec)" in res.stdout
    assert "\x1b" not in res.stdout
    assert all(len(line) <= 100 for line in res.stdout.splitlines()
               if not line.startswith("Runbook "))
