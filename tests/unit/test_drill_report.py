"""The drill report model and its history in state_dir/drills/ (issue 10 item 5)."""

from __future__ import annotations

import contextlib
import json
import os
import stat

import pytest

from drkit.drill.history import (
    last_passing,
    load_history,
    load_reports,
    read_report,
    report_path,
    save_report,
    write_output_file,
)
from drkit.drill.report import DrillReport, ReportFormatError
from drkit.errors import DrkitError, StateError
from tests.drill_samples import sample_report


def test_round_trip_through_json_is_identity() -> None:
    for r in (sample_report(), sample_report(passed=False, loss=True, unverified=True)):
        again = DrillReport.from_dict(json.loads(json.dumps(r.to_dict())))
        assert again == r


def test_derived_figures() -> None:
    r = sample_report(unverified=True, loss=True, passed=False)
    # 2 groups x partitions 0,1,2 -> records_again 0,12,24 except unverified p2 and loss p1.
    assert r.unverified_partitions == 2
    assert r.loss_partitions == 1
    assert r.records_again_total == 12  # billing p1 only
    assert r.rpo_seconds_max == 1.5
    assert r.rpo_records_max == 17
    assert r.rto_seconds == 181.96
    assert r.to_dict()["summary"]["unverified_partitions"] == 2


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("run_id"), "report.run_id: missing"),
    (lambda d: d.__setitem__("passed", "yes"), "report.passed: expected true/false"),
    (lambda d: d["partitions"][1].__setitem__("status", "fine"), "report.partitions[1].status"),
    (lambda d: d["partitions"][0].__setitem__("partition", "0"),
     "report.partitions[0].partition: expected an integer"),
    (lambda d: d["rto"].pop("total_s"), "report.rto.total_s: missing"),
    (lambda d: d.__setitem__("finished_at", "yesterday"), "report.finished_at: not an ISO"),
    (lambda d: d.__setitem__("version", 99), "report.version: 99 is not supported"),
])
def test_from_dict_names_the_bad_field(mutate, field) -> None:  # type: ignore[no-untyped-def]
    d = sample_report().to_dict()
    mutate(d)
    with pytest.raises(ReportFormatError, match=field.replace("[", r"\[").replace("]", r"\]")):
        DrillReport.from_dict(d)


def test_save_is_0600_in_0700_dir_and_loads_newest_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    old = sample_report(run_id="drill-a", finished_at="2026-11-20T03:00:00.000Z")
    new = sample_report(run_id="drill-b", finished_at="2026-11-26T03:00:00.000Z", passed=False)
    mid = sample_report(run_id="drill-c", finished_at="2026-11-23T03:00:00.000Z")
    for r in (old, new, mid):
        save_report(tmp_path, r)
    path = report_path(tmp_path, "drill-b")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert [r.run_id for r in load_reports(tmp_path)] == ["drill-b", "drill-c", "drill-a"]
    assert last_passing(load_reports(tmp_path)).run_id == "drill-c"  # type: ignore[union-attr]
    assert last_passing(load_reports(tmp_path), "backup", "primary") is None
    # No temp file left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "drill-a.json", "drill-b.json", "drill-c.json"]


def test_damaged_file_is_listed_not_fatal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_report(tmp_path, sample_report(run_id="drill-ok"))
    d = tmp_path / "drills"
    (d / "drill-trunc.json").write_text('{"run_id": "drill-trunc", "sou')
    bad = sample_report(run_id="drill-bad").to_dict()
    del bad["rto"]
    (d / "drill-bad.json").write_text(json.dumps(bad))
    reports, damaged = load_history(tmp_path)
    assert [r.run_id for r in reports] == ["drill-ok"]
    reasons = {x.run_id: x.reason for x in damaged}
    assert set(reasons) == {"drill-trunc", "drill-bad"}
    assert "not JSON" in reasons["drill-trunc"] and "drill-trunc.json" in reasons["drill-trunc"]
    assert "report.rto: missing" in reasons["drill-bad"]
    for reason in reasons.values():
        assert "\n" not in reason
    with pytest.raises(StateError, match="is damaged"):
        read_report(d / "drill-bad.json")


def test_symlink_report_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_report(tmp_path, sample_report(run_id="drill-ok"))
    secret = tmp_path / "elsewhere.json"
    secret.write_text(json.dumps(sample_report(run_id="drill-evil").to_dict()))
    (tmp_path / "drills" / "drill-evil.json").symlink_to(secret)
    reports, damaged = load_history(tmp_path)
    assert [r.run_id for r in reports] == ["drill-ok"]
    assert [x.run_id for x in damaged] == ["drill-evil"]
    # Saving over a planted symlink never writes through it: refused (statedir's rule) or the
    # link itself replaced; the file it points at is untouched either way.
    before = secret.read_bytes()
    with contextlib.suppress(DrkitError):
        save_report(tmp_path, sample_report(run_id="drill-evil", passed=False))
    assert secret.read_bytes() == before


def test_run_id_cannot_escape_drills_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StateError, match="not a drill run id"):
        save_report(tmp_path, sample_report(run_id="../../etc/x"))


def test_no_history_is_empty(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert load_history(tmp_path) == ([], [])


def test_write_output_file_is_atomic_0644_and_clear_on_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "drkit_drill.prom"
    write_output_file(target, "a 1\n")
    write_output_file(target, "a 2\n")
    assert target.read_text() == "a 2\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["drkit_drill.prom"]
    with pytest.raises(StateError, match=r"cannot write .*missing/x\.prom.*exists and is writable"):
        write_output_file(tmp_path / "missing" / "x.prom", "a 1\n")
