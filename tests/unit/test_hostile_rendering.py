"""Hostile group/topic names through every table and message drkit prints (issue 17 §4).

Each renderer gets names holding ESC[2J, OSC title/52 sequences, newlines, C1 controls, bidi
overrides …  (tests/hostile_names.py) and must print them escaped: no raw control character,
no forged line, and the name still recognisable. JSON keeps the real names; Prometheus labels
keep them escaped per the exposition format only.
"""

from __future__ import annotations

import json
from typing import Any

import click
import pytest
from click.testing import CliRunner

from drkit.errors import DrkitError, UnsafeError
from drkit.kafka.groups import SourceGroup, TargetGroup
from drkit.mm2.model import Checkpoint, StampedCheckpoint, TopicPartition
from drkit.offsets.checkpoint_planner import build_plan
from drkit.offsets.inputs import PlanInputs, PlanOptions
from drkit.offsets.plan import OffsetPlan
from drkit.offsets.render import partition_table, plan_json, plan_table
from drkit.runbook.render import run_table, runs_table
from drkit.runbook.state import RunState, RunSummary, StepState
from drkit.status.evaluate import evaluate
from drkit.status.model import DnsFacts, RunFacts, TopicLag
from drkit.status.render import summary, table, to_prometheus
from drkit.text import clip
from drkit.textsafe import prom_label, safe
from tests.hostile_names import (
    FORGED,
    HOSTILE_IDS,
    HOSTILE_NAMES,
    assert_names_escaped,
    assert_renders_safely,
)
from tests.unit.test_status_pure import T, facts, flow, group

ALL = "\n".join(HOSTILE_NAMES)


class Naming:
    def to_target_topic(self, source_topic: str) -> str:
        return f"primary.{source_topic}"

    def group_exclusion_reason(self, group: str) -> str | None:
        return None

    def topic_included(self, source_topic: str) -> bool:
        return True


def hostile_plan(name: str, topic: str = "orders") -> OffsetPlan:
    """A plan with the hostile name as a committed group, a refused group, an untranslated
    group and a topic (a checkpoint key's topic is whatever its writer put there)."""
    tp = TopicPartition(f"primary.{topic}", 0)
    other = TopicPartition("primary.orders", 1)
    cps = {name: {tp: StampedCheckpoint(Checkpoint(name, tp.topic, 0, 50, 40, ""), 1_000, 3)},
           "busy-" + name: {tp: StampedCheckpoint(Checkpoint("b", tp.topic, 0, 5, 4, ""), 1, 1)}}
    return build_plan(
        "primary", "backup", cps,
        {"busy-" + name: TargetGroup("busy-" + name, "Stable", 2, {})},
        {tp: (0, 100), other: (0, 100)}, Naming(), PlanOptions(now_ms=61_000),
        source_groups={
            "lost-" + name: SourceGroup("lost-" + name, {TopicPartition("orders", 1): 5}),
            name: SourceGroup(name, {TopicPartition(topic, 0): 50})},
    )


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_plan_and_partition_tables(name: str) -> None:
    plan = hostile_plan(name, topic=name)
    inputs = PlanInputs(f"primary.checkpoints{name}", 3, 0.1, True, f"syncs {name}", 1.0, None)
    for text in (plan_table(plan, inputs, detail=True), partition_table(plan)):
        assert_renders_safely(text)
        assert_names_escaped(text, [name])
        assert max(len(line) for line in text.splitlines()) <= 100
    # JSON keeps the real names.
    doc = json.loads(json.dumps(plan_json(plan)))
    assert name in {g["group"] for g in doc["plan"]["groups"]}


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_status_table_and_prometheus(name: str) -> None:
    f = facts(
        flows=[flow(lags=[TopicLag(name, f"primary.{name}", 5, 3.0)],
                    groups=[group(name), group("x" + name, ready=False,
                                               reason=f"not ready: {name}")],
                    heartbeat_topic=f"primary.heartbeats{name}")],
        dns=[DnsFacts(f"kafka{name}.example.", "CNAME", [f"{name}.example."], None)],
        runs=[RunFacts(f"run-{name}", "failover", "running", "primary", "backup", "2026")])
    checks = evaluate(f, T)
    text = table(f, checks)
    assert_renders_safely(text)
    assert_names_escaped(text, [name])
    assert_renders_safely(summary(f, checks))
    assert max(len(line) for line in text.splitlines()) <= 100
    prom = to_prometheus(f, checks, 0)
    assert f'group="{prom_label(name)}"' in prom  # the real name, escaped per the format
    assert not [line for line in prom.splitlines() if line.startswith(FORGED)]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_run_table_and_runs_list(name: str) -> None:
    run = RunState(
        run_id=f"run{name}", kind="failover", runbook=f"book{name}", runbook_path="/x",
        runbook_digest="d", source=f"src{name}", target=f"dst{name}", args={"g": name},
        who=f"who{name}", host="h", pid=1, created_at="t", updated_at="t", status="failed",
        steps=[StepState(f"step{name}", "commit", "failed", error=f"group {name} failed"),
               StepState("t", "translate", "succeeded", outputs={"summary": f"ok {name}"})],
        approvals=[{"who": name, "method": "--yes", "at": "t", "plan_digest": "abc"}])
    text = run_table(run)
    assert_renders_safely(text)
    assert_names_escaped(text, [name])
    summary_ = RunSummary(f"run{name}", "failover", "failover", f"src{name}", f"dst{name}", "me",
                          "running", "t", "t", 7, 3, f"step{name}", "/p")
    listed = runs_table([summary_], {summary_.run_id: False})
    assert_renders_safely(listed)
    assert "interrupted" in listed


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_error_lines_say_and_the_prompt(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    from drkit.cli import DrkitGroup
    from drkit.commands.common import ClickPrompt, say

    grp = DrkitGroup("t")

    @grp.command()
    def boom() -> None:
        raise UnsafeError(f"group {name} has active members on backup")

    res = CliRunner().invoke(grp, ["boom"], obj={})
    assert res.exit_code == 3
    assert_renders_safely(res.stderr)
    assert res.stderr.count("\n") == 1  # one line, whatever the name holds
    assert_names_escaped(res.stderr, [name])

    say(f"committing {name}")
    ClickPrompt().show(plan_table(hostile_plan(name)))  # what the approval step shows
    ClickPrompt().show(f"raw {name}".replace("\n", ""))  # last line of defence: raw controls
    err = capsys.readouterr().err
    assert_renders_safely(err)
    assert_names_escaped(err, [name])


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_failover_next_lines(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    from drkit.commands.failover import finish

    plan = hostile_plan(name)
    run = RunState(
        run_id="r1", kind="failover", runbook="failover", runbook_path="/x", runbook_digest="d",
        source="primary", target=f"backup{name}", args={}, who="me", host="h", pid=1,
        created_at="t", updated_at="t", status="succeeded",
        steps=[StepState("translate", "translate", "succeeded",
                         outputs={"plan": plan.to_dict()})])
    with pytest.raises(SystemExit):
        finish(run, "table")
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert_renders_safely(text)
    assert "NEXT:" in captured.err
    assert_names_escaped(captured.err, ["busy-" + name])


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=HOSTILE_IDS)
def test_dns_show(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from drkit.commands import dns

    rows: list[dict[str, Any]] = [{"name": f"kafka{name}.", "type": "TXT", "ttl": 60,
                                   "values": [f"v={name}"], "points_at": None}]
    monkeypatch.setattr(dns, "settings_from", lambda ctx, mm2: None)
    monkeypatch.setattr(dns, "records_now", lambda settings: rows)
    res = CliRunner().invoke(dns.dns, ["show"], obj={})
    assert res.exit_code == 0, res.output
    assert_renders_safely(res.stdout)
    assert_names_escaped(res.stdout, [name])
    res = CliRunner().invoke(dns.dns, ["show", "-o", "json"], obj={})
    assert json.loads(res.stdout)[0]["values"] == [f"v={name}"]  # JSON: the real value


def test_clip_is_one_clip_and_never_cuts_an_escape_open() -> None:
    long = "g-" + "x" * 40 + "\x1b]52;c;" + "QUFB" * 30 + "\x07"
    shown = clip(long, 50)
    assert "\x1b" not in shown and shown.endswith("…") and len(shown) <= 50
    assert clip("a\nb", 10) == safe("a\nb") == "a\\nb"
    assert_renders_safely(clip(ALL, 1000))


def test_a_raw_name_would_be_caught() -> None:
    with pytest.raises(AssertionError):
        assert_renders_safely(f"group ok\n{FORGED} commit")
    with pytest.raises(AssertionError):
        assert_renders_safely("billing\x1b[2J")


def test_cli_error_without_names_is_unchanged() -> None:
    grp = click.Group("t")
    del grp
    assert safe(str(DrkitError("plain message; run `drkit runs list`"))) == (
        "plain message; run `drkit runs list`")
