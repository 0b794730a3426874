"""Drill report renderers (issue 10 item 5): table, JSON + schema, Markdown, JUnit XML parsed by
real parsers, Prometheus textfile parsed by prometheus_client, history."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from drkit.drill import render
from drkit.drill.history import DamagedReport, load_history, save_report
from drkit.drill.report import DrillReport, parse_time
from drkit.textsafe import display_width
from tests.drill_samples import sample_report
from tests.hostile_names import HOSTILE_NAMES

FAILED = sample_report(passed=False, loss=True, unverified=True)
PASSED = sample_report()


def _width_ok(text: str) -> None:
    for line in text.splitlines():
        assert display_width(line) <= 100, line
        assert "\x1b" not in line


def test_table_passed_fits_and_has_units() -> None:
    text = render.table(PASSED)
    _width_ok(text)
    first = text.splitlines()[0]
    assert first.startswith("DRILL PASSED - primary->backup: 6 of 6 partitions verified")
    assert "RPO 1.50 s" in first and "RTO 3 min 2 s" in first and "72 rec again" in first
    assert "NEXT:" not in text
    assert "approve" in text and "estimate (not rehearsed)" in text


def test_table_failed_names_partition_and_next_step() -> None:
    text = render.table(FAILED)
    _width_ok(text)
    assert text.startswith("DRILL FAILED")
    assert "LOSS shipping primary.orders[1]: 3 record(s)" in text
    assert "UNVERIFIED billing primary.orders[2]: primary unreachable" in text
    last = text.split("NEXT: ", 1)[1]
    assert "do not fail over group shipping" in last and "primary.orders[1]" in last


def test_next_step_for_each_kind_of_failure() -> None:
    from dataclasses import replace

    from drkit.drill.report import DrillThresholds
    assert render.next_step(PASSED) is None
    unv = sample_report(passed=False, unverified=True)
    assert "--allow-unverified" in (render.next_step(unv) or "")
    slow = replace(PASSED, passed=False, exit_code=1, thresholds=DrillThresholds(
        max_rpo_seconds=1.0))
    assert "exceeds max_rpo_seconds" in (render.next_step(slow) or "")
    dup = replace(PASSED, passed=False, exit_code=1, thresholds=DrillThresholds(
        max_duplicates_per_partition=10))
    assert "billing primary.orders[2] would see 24 records again" in (render.next_step(dup)
                                                                      or "")


def test_hostile_names_never_reach_the_terminal_raw() -> None:
    from dataclasses import replace
    parts = tuple(replace(p, group=name, topic=name, reason=name)
                  for p, name in zip(FAILED.partitions * 10, HOSTILE_NAMES, strict=False))
    r = replace(FAILED, partitions=parts, failures=tuple(HOSTILE_NAMES[:3]))
    for text in (render.table(r), render.history_table([r])):
        _width_ok(text)
        assert all(ch.isprintable() or ch == "\n" for ch in text)
    md = render.markdown(r)
    assert "\x1b" not in md
    rows = [line for line in md.split("### Partitions", 1)[1].split("###")[0].splitlines()
            if line.startswith("| ")]
    # every row keeps its 8 cells (9 unescaped pipes): no name adds a cell or a row
    assert len(rows) == 1 + len(parts)
    assert all(row.replace("\\|", "").count("|") == 9 for row in rows)


def test_json_round_trips_and_validates_against_the_shipped_schema() -> None:
    schema = render.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for r in (PASSED, FAILED):
        doc = json.loads(json.dumps(render.to_json(r)))
        jsonschema.validate(doc, schema)
        assert DrillReport.from_dict(doc) == r
    bad = render.to_json(PASSED)
    bad["partitions"][0]["status"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_markdown_table_rows_have_a_fixed_cell_count() -> None:
    from dataclasses import replace
    p = replace(FAILED.partitions[0], group="a|b", topic="t`x`", reason="r|<script>")
    md = render.markdown(replace(FAILED, partitions=(p,)))
    row = next(line for line in md.splitlines() if line.startswith("| a"))
    # 8 columns -> 9 unescaped pipes
    assert row.replace("\\|", "").count("|") == 9
    assert "<script>" not in md
    assert md.startswith("## DR drill primary → backup: FAILED")


def test_junit_xml_parsed_by_etree_and_junitparser(tmp_path) -> None:  # type: ignore[no-untyped-def]
    xml = render.junit([FAILED, PASSED])
    root = ET.fromstring(xml.encode())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 2
    failed = suites[0]
    # 6 partitions + 3 thresholds + drill.result
    assert failed.get("tests") == "10"
    failing = {(c.get("classname"), c.get("name")) for c in failed.iter("testcase")
               if c.find("failure") is not None}
    assert failing == {("partitions.shipping", "primary.orders[1]"),
                       ("partitions.billing", "primary.orders[2]"),
                       ("partitions.shipping", "primary.orders[2]"), ("drill", "drill.result")}
    assert int(failed.get("failures") or 0) == len(failing)
    assert suites[1].get("failures") == "0"
    junitparser = pytest.importorskip("junitparser")
    path = tmp_path / "drill.xml"
    path.write_text(xml)
    parsed = junitparser.JUnitXml.fromfile(str(path))
    results = {}
    for i, suite in enumerate(parsed):
        for case in suite:
            results[(i, case.classname, case.name)] = (
                "pass" if case.is_passed else "skip" if case.is_skipped else "fail")
    assert results[(0, "drill", "drill.result")] == "fail"
    assert results[(1, "drill", "drill.result")] == "pass"
    assert results[(0, "partitions.shipping", "primary.orders[1]")] == "fail"
    assert sum(v == "fail" for v in results.values()) == 4
    assert parsed.failures == 4 and parsed.tests == 20


def test_junit_threshold_exceeded_and_unset() -> None:
    from dataclasses import replace

    from drkit.drill.report import DrillThresholds
    r = replace(PASSED, passed=False, exit_code=1, failures=("RTO over",),
                thresholds=DrillThresholds(max_rto_seconds=60.0))
    root = ET.fromstring(render.junit([r]))
    cases = {c.get("name"): c for c in root.iter("testcase") if c.get("classname") ==
             "thresholds"}
    assert cases["max_rto_seconds"].find("failure") is not None
    assert "exceeds max_rto_seconds 60 s" in (cases["max_rto_seconds"].find("failure").get(
        "message") or "")  # type: ignore[union-attr]
    assert cases["max_rpo_seconds"].find("skipped") is not None


def test_junit_escapes_hostile_names() -> None:
    from dataclasses import replace
    parts = tuple(replace(PASSED.partitions[0], group=n, topic=n, partition=i)
                  for i, n in enumerate(HOSTILE_NAMES))
    ET.fromstring(render.junit([replace(PASSED, partitions=parts)]))  # well-formed XML 1.0


def test_prometheus_textfile_parsed_by_prometheus_client() -> None:
    older_pass = sample_report(run_id="20261120T030000Z-drill-primary-backup-aaaaaa",
                               finished_at="2026-11-20T03:00:30.000Z")
    other = sample_report(run_id="20261126T040000Z-drill-backup-primary-bbbbbb",
                          source='ba"ck\\up\n', target="primary",
                          finished_at="2026-11-26T04:00:00.000Z")
    text = render.to_prometheus([FAILED, older_pass, other])
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(fams) == set(render.METRICS)
    def value(name: str, source: str) -> float:
        (s,) = [s for s in fams[name].samples if s.labels["source"] == source]
        return s.value
    # the newest drill failed: last success is the older passing drill's finish time
    assert value("drkit_drill_last_success_timestamp_seconds", "primary") == parse_time(
        older_pass.finished_at).timestamp()
    assert value("drkit_drill_passed", "primary") == 0
    assert value("drkit_drill_unverified_partitions", "primary") == 2
    assert value("drkit_drill_records_again", "primary") == 12
    assert value("drkit_drill_rpo_seconds", "primary") == 1.5
    assert value("drkit_drill_rto_seconds", "primary") == 181.96
    # the hostile alias round-trips through label escaping
    assert value("drkit_drill_passed", 'ba"ck\\up\n') == 1


def test_prometheus_no_passing_drill_means_no_success_sample() -> None:
    text = render.to_prometheus([FAILED])
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    assert fams["drkit_drill_last_success_timestamp_seconds"].samples == []
    assert len(fams["drkit_drill_passed"].samples) == 1


def test_history_table_and_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_report(tmp_path, sample_report(run_id="20261120T030000Z-drill-primary-backup-aaaaaa",
                                        finished_at="2026-11-20T03:00:30.000Z"))
    save_report(tmp_path, FAILED)
    (tmp_path / "drills" / "junk.json").write_text("{")
    reports, damaged = load_history(tmp_path)
    text = render.history_table(reports, damaged)
    _width_ok(text)
    lines = text.splitlines()
    assert lines[0] == "Drills: 2 (1 passed, 1 failed), 1 damaged report file(s)"
    rows = [line for line in lines if "-drill-" in line and ("FAIL" in line or "pass" in line)]
    assert "FAIL" in rows[0] and "20261126" in rows[0]  # newest first
    assert "pass" in rows[1] and "20261120" in rows[1]
    assert any("DAMAGED" in line and "junk.json" in line for line in lines)
    doc = render.history_json(reports, damaged)
    assert [d["passed"] for d in doc["drills"]] == [False, True]
    assert doc["drills"][0]["unverified_partitions"] == 2
    assert doc["damaged"][0]["path"].endswith("junk.json")
    assert "none yet" in render.history_table([], [])
    assert isinstance(damaged[0], DamagedReport)
