"""deploy/prometheus/drkit-rules.yml under `promtool test rules` (issue 10 item 6), fed with
metrics drkit really rendered: `drkit status --output prometheus` (status.render.to_prometheus)
and the drill textfile (drill.render.to_prometheus). promtool's clock starts at the Unix epoch,
so the drills here finish in January 1970.

Skips when promtool is missing (Debian: `apt-get install prometheus`), except in CI
(DRKIT_REQUIRE_PROMTOOL=1), where a missing promtool fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from drkit.drill import render as drill_render
from drkit.status.model import CRITICAL
from drkit.status.render import to_prometheus as status_prometheus
from tests.drill_samples import sample_report
from tests.unit.test_status_pure import facts, flow, group

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "drkit-rules.yml"
NAMES = {"DrkitDrillFailed", "DrkitDrillOverdue", "DrkitDrillNeverPassed",
         "DrkitHeartbeatStale", "DrkitFailoverNotReady"}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("DRKIT_REQUIRE_PROMTOOL") == "1":
        raise AssertionError("promtool is missing although DRKIT_REQUIRE_PROMTOOL=1 "
                             "(apt-get install prometheus)")
    pytest.skip("promtool not installed (Debian: apt-get install --no-install-recommends "
                "prometheus); CI sets DRKIT_REQUIRE_PROMTOOL=1 so it cannot skip there")


def _series(*texts: str, steps: int = 150) -> list[dict[str, str]]:
    """Every sample of drkit's exposition text as a promtool input series, constant for
    ``steps`` intervals."""
    out = []
    for text in texts:
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                labels = ",".join(f'{k}={json.dumps(v)}' for k, v in sorted(s.labels.items()))
                out.append({"series": f"{s.name}{{{labels}}}", "values": f"{s.value!r}+0x{steps}"})
    return out


def _drkit_metrics() -> tuple[str, str]:
    status = facts(flows=[flow(heartbeat_age_s=400.0,
                               groups=[group("billing"), group("audit", ready=False,
                                                               reason="no checkpoint")])])
    status_text = status_prometheus(status, [], CRITICAL)
    drills = [
        sample_report(run_id="r1", finished_at="1970-01-01T00:00:00Z"),  # passing, t=0
        sample_report(run_id="r2", passed=False, loss=True, finished_at="1970-01-01T00:10:00Z"),
        sample_report(run_id="r3", source="east", target="west", passed=False,
                      unverified=True, finished_at="1970-01-01T00:05:00Z"),
    ]
    return status_text, drill_render.to_prometheus(drills)


def _expected(rule_name: str, labels: dict[str, str]) -> dict[str, Any]:
    """The alert promtool should see: the rule's labels and its annotations with
    ``{{ $labels.x }}`` filled in (the rules use no other template)."""
    rules = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"]
             for r in g["rules"]}
    rule = rules[rule_name]

    def fill(text: str) -> str:
        out = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
        assert "{{" not in out, out
        return out

    return {"exp_labels": {**labels, **rule["labels"]},
            "exp_annotations": {k: fill(v) for k, v in rule.get("annotations", {}).items()}}


def test_rules_file_names_only_metrics_drkit_produces() -> None:
    status_text, drill_text = _drkit_metrics()
    produced = {f.name for t in (status_text, drill_text)
                for f in text_string_to_metric_families(t)}
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} == NAMES
    for r in rules:
        used = set(re.findall(r"drkit_[a-z0-9_]+", r["expr"]))
        assert used and used <= produced, (r["alert"], used - produced)


def test_status_and_drill_textfiles_share_no_metric() -> None:
    """Both textfiles go into node_exporter's one textfile directory (docs/drills.md): a
    family in both would be a duplicate series, so each metric has one producer."""
    status_text, drill_text = _drkit_metrics()
    status = {f.name for f in text_string_to_metric_families(status_text)}
    drill = {f.name for f in text_string_to_metric_families(drill_text)}
    assert "drkit_drill_last_success_timestamp_seconds" in drill
    assert not status & drill, status & drill


def test_promtool_rules_fire_on_real_drkit_metrics(tmp_path: Path) -> None:
    promtool = _promtool()
    status_text, drill_text = _drkit_metrics()
    pair = {"source": "primary", "target": "backup"}
    east = {"source": "east", "target": "west"}
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{
            # every minute for 2.5 h: long enough for the rules' `for:` clauses
            "interval": "1m",
            "input_series": _series(status_text, drill_text, steps=150),
            "alert_rule_test": [
                # 2 h after the drills: the newest primary->backup drill failed, east->west
                # never passed, MM2's heartbeat is stale, audit cannot fail over.
                {"eval_time": "2h", "alertname": "DrkitDrillFailed", "exp_alerts": [
                    _expected("DrkitDrillFailed", east), _expected("DrkitDrillFailed", pair)]},
                {"eval_time": "2h", "alertname": "DrkitDrillNeverPassed", "exp_alerts": [
                    _expected("DrkitDrillNeverPassed", east)]},
                {"eval_time": "2h", "alertname": "DrkitHeartbeatStale", "exp_alerts": [
                    _expected("DrkitHeartbeatStale", pair)]},
                {"eval_time": "2h", "alertname": "DrkitFailoverNotReady", "exp_alerts": [
                    _expected("DrkitFailoverNotReady", {**pair, "group": "audit"})]},
                {"eval_time": "2h", "alertname": "DrkitDrillOverdue", "exp_alerts": []},
            ],
        }, {
            # one sample a day: the last passing drill (t=0) is 7 days old at 7d (not
            # overdue) and 9 days old at 9d (overdue, [drill] max_age_days 8).
            "interval": "1d",
            "input_series": _series(status_text, drill_text, steps=10),
            "alert_rule_test": [
                {"eval_time": "7d", "alertname": "DrkitDrillOverdue", "exp_alerts": []},
                {"eval_time": "9d", "alertname": "DrkitDrillOverdue", "exp_alerts": [
                    _expected("DrkitDrillOverdue", pair)]},
            ],
        }],
    }
    path = tmp_path / "drkit-rules.test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    check = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_promtool_test_fails_when_an_alert_would_not_fire(tmp_path: Path) -> None:
    """The harness is honest: an alert expected where drkit's metrics do not warrant it fails."""
    promtool = _promtool()
    status_text, drill_text = _drkit_metrics()
    tests = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1h", "input_series": _series(status_text, drill_text, steps=5),
        "alert_rule_test": [{"eval_time": "2h", "alertname": "DrkitDrillOverdue", "exp_alerts": [
            _expected("DrkitDrillOverdue", {"source": "primary", "target": "backup"})]}]}]}
    path = tmp_path / "bad.test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    run = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "alertname: DrkitDrillOverdue" in out and "got:[]" in out, out
