"""`drkit drill --prometheus-file` renders the whole drill history (issue 10 item 5): a failed
drill keeps the last passing drill's drkit_drill_last_success_timestamp_seconds, so the overdue
alert (deploy/prometheus/drkit-rules.yml) keeps counting instead of going silent."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drkit.commands.drill import finish
from drkit.drill.history import save_report
from drkit.drill.report import parse_time
from tests.drill_samples import sample_report


def _samples(path: Path) -> dict[str, dict[tuple[str, str], float]]:
    out: dict[str, dict[tuple[str, str], float]] = {}
    for fam in text_string_to_metric_families(path.read_text()):
        for s in fam.samples:
            out.setdefault(s.name, {})[(s.labels["source"], s.labels["target"])] = s.value
    return out


def test_failed_drill_keeps_the_last_success_in_the_textfile(tmp_path: Path) -> None:
    state, prom = tmp_path / "state", tmp_path / "drkit_drill.prom"
    passing = sample_report(run_id="r-pass", finished_at="2026-11-19T03:00:00Z")
    failing = sample_report(run_id="r-fail", passed=False, loss=True,
                            finished_at="2026-11-26T03:00:00Z")
    other = sample_report(run_id="r-rev", source="backup", target="primary",
                          finished_at="2026-11-20T03:00:00Z")
    for r in (passing, other):
        save_report(state, r)
    with pytest.raises(SystemExit) as ok:
        finish(passing, "json", None, prom, state)
    assert ok.value.code == 0
    first = _samples(prom)
    pair = ("primary", "backup")
    assert first["drkit_drill_last_success_timestamp_seconds"][pair] == parse_time(
        passing.finished_at).timestamp()

    save_report(state, failing)  # what the drill-report step does before the command renders
    with pytest.raises(SystemExit) as failed:
        finish(failing, "json", None, prom, state)
    assert failed.value.code == 1
    after = _samples(prom)
    # The newest drill's figures are the failing one's, the last success is still the pass.
    assert after["drkit_drill_passed"][pair] == 0
    assert after["drkit_drill_loss_partitions"][pair] == 1
    assert after["drkit_drill_last_run_timestamp_seconds"][pair] == parse_time(
        failing.finished_at).timestamp()
    assert after["drkit_drill_last_success_timestamp_seconds"][pair] == parse_time(
        passing.finished_at).timestamp()
    # Every other pair of the history is in the file too.
    assert after["drkit_drill_last_success_timestamp_seconds"][("backup", "primary")] == (
        parse_time(other.finished_at).timestamp())


def test_report_missing_from_the_history_is_still_rendered(tmp_path: Path) -> None:
    """The current report is in the file even if its saved copy is gone (or unreadable)."""
    prom = tmp_path / "drkit_drill.prom"
    failing = sample_report(run_id="r-fail", passed=False, finished_at="2026-11-26T03:00:00Z")
    with pytest.raises(SystemExit):
        finish(failing, "json", None, prom, tmp_path / "state")
    got = _samples(prom)
    assert got["drkit_drill_passed"][("primary", "backup")] == 0
    assert "drkit_drill_last_success_timestamp_seconds" not in got


def test_resume_hint_follows_the_run_kind() -> None:
    """`drkit status`, `drkit runs list` and the drill's own abort line name one command."""
    from drkit.runbook.liveness import resume_command

    assert resume_command("drill", "r1") == "drkit drill --resume r1"
    assert resume_command("failover", "r2") == "drkit failover --resume r2"
    assert resume_command("failback", "r3") == "drkit runs resume r3"
