"""Facts written once (issue 15): the shared checkpoints scan, the journaled plan, the
"is this group active?" rule, the plan options, and the approval prompt through the engine."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import click
import pytest

from drkit.commands.plan import plan_cmd
from drkit.errors import DrkitError
from drkit.kafka.groups import TargetGroup, group_is_active
from drkit.mm2 import reader
from drkit.mm2.client import MirrorTopics
from drkit.mm2.policy import DefaultReplicationPolicy
from drkit.offsets.options import PLAN_ARG_KEYS, options_from_args, plan_args
from drkit.offsets.plan import OffsetPlan
from drkit.runbook.engine import RunContext
from drkit.runbook.session import Session
from drkit.runbook.spec import parse_runbook, validate
from drkit.runbook.steps import BUILTIN, schemas
from drkit.runbook.steps.common import stored_plan
from tests.helpers import offline_settings

RUNBOOK = """name = "t"
[[steps]]
id = "translate"
uses = "translate"
[[steps]]
id = "ok"
uses = "approve"
"""


class FakePrompt:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.shown: list[str] = []
        self.asked: list[str] = []

    def show(self, text: str) -> None:
        self.shown.append(text)

    def confirm(self, question: str) -> bool:
        self.asked.append(question)
        return self.answer


def _context(tmp_path: Path, prompt: FakePrompt | None = None) -> RunContext:
    settings = offline_settings(tmp_path)
    book = validate(parse_runbook(RUNBOOK.encode(), tmp_path / "rb.toml"), schemas())
    session = Session.open(settings, lambda _m: None, prompt)
    run = session.new_run("failover", book, "primary", "backup", {"planned": False})
    session.journal.create(run)
    return RunContext(settings, run, book, session.journal, session.audit, lambda _m: None,
                      interactive=True, prompt=prompt)


def _store_plan(ctx: RunContext, status: str = "succeeded", now_ms: int = 1) -> OffsetPlan:
    plan = OffsetPlan("primary", "backup", now_ms, ())
    step = ctx.run.step("translate")
    step.status = status  # type: ignore[assignment]
    step.outputs.update({"plan": plan.to_dict(), "digest": plan.digest()})
    return plan


def test_mirror_topics_scans_the_checkpoints_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake(config: Any, topic: str, cluster: str, **kw: Any) -> str:
        calls.append(topic)
        return f"index of {topic}"

    monkeypatch.setattr(reader, "read_checkpoints", fake)
    mirror = MirrorTopics("backup", {}, DefaultReplicationPolicy(), "primary")
    assert mirror.checkpoints() == mirror.checkpoints(timeout_s=5) == (
        "index of primary.checkpoints.internal")
    assert calls == ["primary.checkpoints.internal"]


def test_a_run_shares_one_flow_and_one_mirror(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    assert ctx.flow is ctx.flow
    assert ctx.mirror is ctx.mirror
    assert (ctx.mirror.cluster, ctx.mirror.source) == ("backup", "primary")


def test_stored_plan_is_the_last_translate_output(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    assert stored_plan(ctx.run) is None
    plan = _store_plan(ctx, status="failed")
    assert stored_plan(ctx.run) == plan
    assert stored_plan(ctx.run, succeeded_only=True) is None


@pytest.mark.parametrize(("state", "members", "active"), [
    ("EMPTY", 0, False), ("Empty", 0, False), ("dead", 0, False), (" DEAD ", 0, False),
    ("EMPTY", 1, True), ("STABLE", 0, True), ("PreparingRebalance", 0, True),
    ("UNKNOWN", 0, True), (None, 0, True),
])
def test_one_rule_decides_whether_a_group_is_active(state: str | None, members: int,
                                                    active: bool) -> None:
    assert group_is_active(state, members) is active
    if state is not None:
        assert TargetGroup("g", state, members).is_active is active


def test_plan_options_are_listed_once() -> None:
    params = {p.name for p in plan_cmd.params}
    assert set(PLAN_ARG_KEYS) <= params
    assert set(params) - set(PLAN_ARG_KEYS) == {"source", "target", "mm2_config", "topic_name",
                                                "detail", "output"}
    args = plan_args({"group_regex": "g.*", "detail": True, "source": "x"})
    assert list(args) == list(PLAN_ARG_KEYS) and args["group_regex"] == "g.*"
    options, limits = options_from_args(args)
    assert (options.group_regex, options.untranslated, limits.max_clamped_partitions) == (
        "g.*", "skip", 0)


def test_approval_shows_the_runbook_and_asks_through_the_prompt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", type("Tty", (io.StringIO,), {"isatty": lambda _s: True})())
    prompt = FakePrompt(answer=True)
    ctx = _context(tmp_path, prompt)
    plan = _store_plan(ctx)
    spec = ctx.runbook.steps[1]
    out = BUILTIN["approve"].run(ctx, spec, ctx.run.step("ok"))
    assert out["method"] == "interactive"
    summary = prompt.shown[0]
    assert str(ctx.runbook.path) in summary
    assert ctx.runbook.digest[:16] in summary
    assert "translate (translate)" in summary and "ok (approve)" in summary
    assert plan.digest()[:12] in prompt.asked[0]

    refused = FakePrompt(answer=False)
    ctx = _context(tmp_path / "again", refused)
    _store_plan(ctx)
    with pytest.raises(DrkitError, match="not approved"):
        BUILTIN["approve"].run(ctx, spec, ctx.run.step("ok"))


def test_the_approve_step_imports_no_click() -> None:
    import drkit.runbook.steps.approve as approve

    assert not any(v is click for v in vars(approve).values())
