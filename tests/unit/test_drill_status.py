"""`drkit status` and the last passing drill (issue 10 item 5): facts from state_dir/drills/,
WARNING past [drill] max_age_days, the table line, JSON (schema) and the Prometheus sample."""

from __future__ import annotations

from types import SimpleNamespace

import jsonschema
from prometheus_client.parser import text_string_to_metric_families

from drkit.drill.history import save_report
from drkit.status.collect import _drills
from drkit.status.evaluate import evaluate, overall
from drkit.status.model import OK, WARNING, DrillFacts
from drkit.status.render import json_schema, table, to_json, to_prometheus
from tests.drill_samples import sample_report
from tests.unit.test_status_pure import T, facts, flow

DAY = 86400.0


def drill(**kw: object) -> DrillFacts:
    base: dict[str, object] = dict(
        source="primary", target="backup", last_run_id="r2",
        last_finished_at="2026-01-01T00:00:00Z",
        last_passed=True, last_success_run_id="r2", last_success_at="2026-01-01T00:00:00Z",
        last_success_age_s=2 * DAY, max_age_days=8.0)
    return DrillFacts(**(base | kw))  # type: ignore[arg-type]


def test_recent_drill_is_ok_and_shown() -> None:
    f = facts(drills=[drill()])
    checks = evaluate(f, T)
    assert overall(checks) == OK, checks
    text = table(f, checks)
    assert "primary->backup: last passing drill 2.0 d old (max 8 d), r2" in text


def test_old_drill_warns_with_the_command_to_run() -> None:
    f = facts(drills=[drill(last_success_age_s=9.5 * DAY, last_run_id="r3",
                            last_passed=False)])
    checks = evaluate(f, T)
    assert overall(checks) == WARNING
    (c,) = [c for c in checks if c.subject == "drill primary->backup"]
    assert "last passing drill of primary->backup is 9.5 d old" in c.message
    assert c.message.endswith("run `drkit drill --from primary --to backup` (docs/drills.md)")
    text = table(f, checks)
    assert "newest r3 FAILED" in text
    assert "NEXT: run `drkit drill --from primary --to backup`" in text


def test_no_drill_is_info_unless_max_age_days_is_set() -> None:
    none = drill(last_run_id=None, last_finished_at=None, last_passed=None,
                 last_success_run_id=None, last_success_at=None, last_success_age_s=None,
                 max_age_days=None)
    f = facts(drills=[none])
    assert overall(evaluate(f, T)) == OK
    assert "primary->backup: no passing drill yet — run `drkit drill" in table(f, [])
    f = facts(drills=[drill(last_run_id=None, last_finished_at=None, last_passed=None,
                            last_success_run_id=None, last_success_at=None,
                            last_success_age_s=None)])
    (c,) = evaluate(f, T)
    assert c.level == WARNING and "no passing drill of primary->backup" in c.message


def test_json_and_prometheus_carry_the_last_success() -> None:
    f = facts(drills=[drill()])
    doc = to_json(f, [], OK)
    jsonschema.validate(doc, json_schema(), cls=jsonschema.Draft202012Validator)
    assert doc["drills"][0]["last_success_age_s"] == 2 * DAY
    assert doc["drills"][0]["last_success_at"] == "2026-01-01T00:00:00Z"
    # The last success is a metric of the drill's textfile only (rendered from the history,
    # docs/drills.md): status's textfile never carries it, so both can share one directory.
    fams = {m.name: m for m in text_string_to_metric_families(to_prometheus(f, [], OK))}
    assert "drkit_drill_last_success_timestamp_seconds" not in fams
    assert not [m for m in fams if m.startswith("drkit_drill_")]


def test_collect_reads_the_history_per_flow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_report(tmp_path, sample_report(run_id="r-old", finished_at="2026-11-20T03:00:00Z"))
    save_report(tmp_path, sample_report(run_id="r-new", passed=False,
                                        finished_at="2026-11-26T03:00:00Z"))
    save_report(tmp_path, sample_report(run_id="r-rev", source="backup", target="primary",
                                        finished_at="2026-11-27T03:00:00Z"))
    (tmp_path / "drills" / "broken.json").write_text("{")
    settings = SimpleNamespace(state_dir=tmp_path, drill={"max_age_days": 3},
                               config_path="drkit.toml")
    (d,) = _drills(settings, [flow()])  # type: ignore[arg-type]
    assert (d.last_run_id, d.last_passed, d.last_success_run_id) == ("r-new", False, "r-old")
    assert d.max_age_days == 3.0 and d.last_success_age_s is not None
    assert d.last_success_age_s > 0
