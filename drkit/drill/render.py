"""A drill report as people and schedulers read it (issue 10 item 5). Pure: text in, text out.

* :func:`table` — the default: ≤ 100 columns, a unit on every number, failures first and, on
  failure, the one thing to do next (``NEXT:``);
* :func:`to_json` — the report's dict form, described by ``drill.schema.json``
  (:func:`json_schema`);
* :func:`markdown` — for a ticket or a wiki page;
* :func:`junit` — JUnit XML: one ``<testsuite>`` per drill, a ``<testcase>`` per partition check
  and per threshold, plus one for the drill's overall result (so the XML fails iff the drill did);
* :func:`to_prometheus` — text exposition format 0.0.4 for node_exporter's textfile collector,
  one sample per source/target pair (:data:`METRICS`);
* :func:`history_table` / :func:`history_json` — ``drkit drill history``.

Names that come from a cluster (groups, topics, DNS values) go through ``drkit.text.clip``/
``safe`` in the table and Markdown, ``prom_label`` in Prometheus, and XML escaping in JUnit.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any
from xml.etree import ElementTree as ET

from tabulate import tabulate

from drkit.drill.history import DamagedReport
from drkit.drill.report import DrillReport, PartitionCheck, parse_time
from drkit.text import WIDTH, fit
from drkit.textsafe import clip, display_width, prom_label, safe

__all__ = [
    "METRICS",
    "history_json",
    "history_table",
    "json_schema",
    "junit",
    "markdown",
    "next_step",
    "table",
    "to_json",
    "to_prometheus",
]

MAX_PARTITION_ROWS = 30
MAX_HISTORY_ROWS = 50
STATUS_ORDER = {"loss": 0, "unverified": 1, "skipped": 2, "verified": 3}

# name -> help; all gauges with labels source/target. docs/drills.md lists them; public names.
METRICS: dict[str, str] = {
    "drkit_drill_last_success_timestamp_seconds":
        "Unix time when the newest passing drill source->target finished.",
    "drkit_drill_last_run_timestamp_seconds":
        "Unix time when the newest drill source->target finished, passed or not.",
    "drkit_drill_passed": "1 if the newest drill source->target passed, 0 if it failed.",
    "drkit_drill_rpo_seconds":
        "Newest drill: worst seconds of source data not yet on the standby (RPO).",
    "drkit_drill_rto_seconds":
        "Newest drill: measured + DNS TTL + estimated seconds a failover would take (RTO).",
    "drkit_drill_records_again":
        "Newest drill: records the groups would receive again after a failover (content-matched).",
    "drkit_drill_unverified_partitions":
        "Newest drill: partitions whose resume position could not be proven by content.",
    "drkit_drill_loss_partitions":
        "Newest drill: partitions where a failover would skip records not yet processed.",
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`to_json`, shipped in the package."""
    text = resources.files("drkit.drill").joinpath("drill.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- helpers ---------------------------------------------------------------------------------

def _secs(value: float | None) -> str:
    """Seconds with a unit, readable at 3 a.m.: ``0.41 s``, ``75 s``, ``3 min 2 s``, ``2.5 h``."""
    if value is None or math.isnan(value):
        return "-"
    if value < 10:
        return f"{value:.2f} s"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        m, s = divmod(round(value), 60)
        return f"{m} min {s} s" if s else f"{m} min"
    if value < 172800:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def _rec(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _wrap(text: str, first: str = "  ", rest: str = "    ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False) or [first.rstrip()]


def _table(headers: list[str], rows: list[list[str]], flex: int,
           right: tuple[int, ...] = ()) -> list[str]:
    """Columns two apart, column ``flex`` cut so each line fits WIDTH (cells are safe text)."""
    if not rows:
        return ["  (none)"]
    widths = [max(len(h), *(display_width(r[i]) for r in rows)) for i, h in enumerate(headers)]
    room = WIDTH - 2 - 2 * (len(headers) - 1) - sum(
        w for i, w in enumerate(widths) if i != flex)
    room = max(room, len(headers[flex]))
    rows = [[fit(c, room) if i == flex else c for i, c in enumerate(r)] for r in rows]
    widths[flex] = max(len(headers[flex]), *(display_width(r[flex]) for r in rows))
    align = ["right" if i in right else "left" for i in range(len(headers))]
    text = tabulate([headers, ["-" * w for w in widths], *rows], tablefmt="plain",
                    disable_numparse=True, colalign=align)
    return ["  " + line for line in text.splitlines()]


def _counts(report: DrillReport) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for p in report.partitions:
        counts[p.status] = counts.get(p.status, 0) + 1
    return counts


def _worst_first(parts: Sequence[PartitionCheck]) -> list[PartitionCheck]:
    return sorted(parts, key=lambda p: (STATUS_ORDER.get(p.status, 9), p.group, p.topic,
                                        p.partition))


def _duration(report: DrillReport) -> float | None:
    try:
        return (parse_time(report.finished_at) - parse_time(report.started_at)).total_seconds()
    except ValueError:
        return None


def _max_again(report: DrillReport) -> int | None:
    known = [p.records_again for p in report.partitions if p.records_again is not None]
    return max(known) if known else None


def threshold_results(report: DrillReport) -> list[tuple[str, str, str, str | None]]:
    """(name, limit, measured, failure-or-None) for every threshold a drill checks; a limit that
    is not set reads ``not set`` and a measure that is unknown fails nothing here (the drill's
    own failures say whether unknown counts)."""
    t = report.thresholds
    out: list[tuple[str, str, str, str | None]] = []
    rpo = report.rpo_seconds_max
    fail = (f"RPO {_secs(rpo)} exceeds max_rpo_seconds {_secs(t.max_rpo_seconds)}"
            if rpo is not None and t.max_rpo_seconds is not None and rpo > t.max_rpo_seconds
            else None)
    out.append(("max_rpo_seconds", _secs(t.max_rpo_seconds) if t.max_rpo_seconds is not None
                else "not set", _secs(rpo), fail))
    rto = report.rto_seconds
    fail = (f"RTO {_secs(rto)} exceeds max_rto_seconds {_secs(t.max_rto_seconds)}"
            if t.max_rto_seconds is not None and rto > t.max_rto_seconds else None)
    out.append(("max_rto_seconds", _secs(t.max_rto_seconds) if t.max_rto_seconds is not None
                else "not set", _secs(rto), fail))
    dup = _max_again(report)
    limit = t.max_duplicates_per_partition
    fail = None
    if dup is not None and limit is not None and dup > limit:
        worst = max((p for p in report.partitions if p.records_again is not None),
                    key=lambda p: p.records_again or 0)
        fail = (f"{worst.group} {worst.topic}[{worst.partition}] would see {dup:,} records "
                f"again, over max_duplicates_per_partition {limit:,}")
    out.append(("max_duplicates_per_partition",
                f"{limit:,} rec" if limit is not None else "not set",
                f"{dup:,} rec" if dup is not None else "-", fail))
    return out


def next_step(report: DrillReport) -> str | None:
    """The one thing to do next after a failed drill (None when it passed)."""
    if report.passed:
        return None
    again = f"drkit drill --from {report.source} --to {report.target}"
    loss = [p for p in report.partitions if p.status == "loss"]
    if loss:
        p = loss[0]
        return (f"do not fail over group {p.group} yet: the standby lacks records of "
                f"{p.topic}[{p.partition}]; check MM2 ({report.source}->{report.target}) "
                f"with `drkit status`, then rerun `{again}`")
    if report.unverified_partitions:
        return (f"{_n(report.unverified_partitions, 'partition')} could not be verified "
                f"(first: {_worst_first(report.partitions)[0].reason or 'no reason given'}); "
                f"make {report.source} reachable and rerun `{again}`, or accept it with "
                f"--allow-unverified")
    for name, _limit, _measured, fail in threshold_results(report):
        if fail is None:
            continue
        if name == "max_rpo_seconds":
            return (f"{fail}: MM2 is behind; check its throughput and lag with `drkit status`, "
                    f"or raise [drill] max_rpo_seconds if the RPO is acceptable")
        if name == "max_rto_seconds":
            return (f"{fail}: see the slowest step above; shorten it (or the DNS TTL), or "
                    f"raise [drill] max_rto_seconds")
        return (f"{fail}: MM2's checkpoints lag that group; check emit.checkpoints.interval and "
                f"`drkit status`, or raise [drill] max_duplicates_per_partition")
    if report.failures:
        return f"{report.failures[0]}; fix it and rerun `{again}`"
    return f"rerun `{again}` and read its failures"


# --- table -----------------------------------------------------------------------------------

def headline(report: DrillReport) -> str:
    counts = _counts(report)
    verdict = "PASSED" if report.passed else "FAILED"
    return clip(
        f"DRILL {verdict} - {report.source}->{report.target}: "
        f"{counts['verified']:,} of {_n(len(report.partitions), 'partition')} verified, "
        f"{report.records_again_total:,} rec again, RPO {_secs(report.rpo_seconds_max)}, "
        f"RTO {_secs(report.rto_seconds)}", WIDTH)


def table(report: DrillReport) -> str:
    """The human report: headline, failures, partitions (worst first), RPO, RTO, thresholds,
    DNS, and ``NEXT:`` on failure; every line ≤ 100 columns."""
    counts = _counts(report)
    out = [headline(report),
           fit(f"run {safe(report.run_id)}, took {_secs(_duration(report))}", WIDTH),
           fit(f"shadow groups {safe(report.shadow_prefix)}<group> "
               f"{'KEPT (--keep)' if report.kept else 'deleted'}", WIDTH)]
    if report.failures:
        out += ["", "Failures"]
        for f in report.failures:
            out += _wrap(safe(f))
    out += ["", fit(
        f"Partitions: {counts['verified']:,} verified, {counts['unverified']:,} unverified, "
        f"{counts['loss']:,} loss, {counts['skipped']:,} skipped; "
        f"{report.records_again_total:,} records again in all", WIDTH)]
    parts = _worst_first(report.partitions)
    rows = [[clip(p.group, 24), clip(p.topic, 28), str(p.partition), _rec(p.translated),
             _rec(p.records_again), _rec(p.predicted_bound),
             p.status.upper() if p.status in ("loss", "unverified") else p.status]
            for p in parts[:MAX_PARTITION_ROWS]]
    out += _table(["group", "topic", "part", "offset", "again (rec)", "bound (rec)", "status"],
                  rows, flex=1, right=(2, 3, 4, 5))
    if len(parts) > MAX_PARTITION_ROWS:
        out.append(f"  … {len(parts) - MAX_PARTITION_ROWS:,} more (--output json lists all)")
    unproven = [p for p in parts if p.status != "verified"]
    for p in unproven[:MAX_PARTITION_ROWS]:
        out += _wrap(f"{p.status.upper()} {clip(p.group, 40)} {clip(p.topic, 60)}"
                     f"[{p.partition}]: {safe(p.reason)}", "  ", "    ")
    if len(unproven) > MAX_PARTITION_ROWS:
        out.append(f"  … {len(unproven) - MAX_PARTITION_ROWS:,} more not verified "
                   f"(--output json lists all)")
    out += ["", f"RPO (standby behind {clip(report.source, 30)}): worst "
                f"{_secs(report.rpo_seconds_max)}, {_rec(report.rpo_records_max)} rec"]
    rpo = sorted(report.rpo, key=lambda r: (-(r.seconds_behind or 0), r.topic, r.partition))
    out += _table(["topic", "mirror", "part", "behind (rec)", "behind (time)", "note"],
                  [[clip(r.topic, 24), clip(r.remote, 30), str(r.partition),
                    _rec(r.records_behind), _secs(r.seconds_behind), safe(r.reason)]
                   for r in rpo[:MAX_PARTITION_ROWS]], flex=5, right=(2, 3, 4))
    if len(rpo) > MAX_PARTITION_ROWS:
        out.append(f"  … {len(rpo) - MAX_PARTITION_ROWS:,} more (--output json lists all)")
    rto = report.rto
    measured = sum(s.seconds for s in rto.steps if s.rehearsed)
    out += ["", fit(f"RTO {_secs(rto.total_s)} = {_secs(measured)} measured + "
                    f"{_secs(rto.dns_ttl_s)} DNS TTL + {_secs(rto.estimates_s)} estimated", WIDTH)]
    out += _table(["step", "time", "how"],
                  [[clip(s.step, 30), _secs(s.seconds),
                    "measured" if s.rehearsed else "estimate (not rehearsed)"]
                   for s in rto.steps], flex=2, right=(1,))
    out += ["", "Thresholds ([drill] in drkit.toml)"]
    out += _table(["threshold", "limit", "measured", "result"],
                  [[name, limit, measured_, "not checked" if limit == "not set"
                    else ("EXCEEDED" if fail else "ok")]
                   for name, limit, measured_, fail in threshold_results(report)],
                  flex=3, right=(1, 2))
    out += _dns_lines(report.dns)
    for note in report.notes:
        out += _wrap(f"note: {safe(note)}", "", "  ")
    step = next_step(report)
    if step:
        out += ["", *_wrap(f"NEXT: {safe(step)}", "", " " * 6)]
    return "\n".join(fit(line.rstrip(), WIDTH) for line in out)


def _dns_lines(dns: dict[str, Any]) -> list[str]:
    """The dns-check step's findings: each production record (checked, never changed) and the
    [drill] dns_record (flipped and restored). Other shapes: key=value."""
    if not dns:
        return []
    if "records" not in dns and "configured" not in dns:
        shown = ", ".join(f"{safe(str(k))}={safe(str(v))}" for k, v in dns.items())
        return ["", *_wrap(f"DNS (checked, not changed): {shown}", "", "  ")]
    if not dns.get("configured"):
        return ["", "DNS: no provider configured ([dns] in drkit.toml): not checked"]
    out = ["", fit(f"DNS via {safe(str(dns.get('provider', '?')))} (checked, not changed), "
                   f"TTL {_secs(float(dns.get('ttl_s') or 0))}", WIDTH)]
    for r in dns.get("records", []):
        now = ", ".join(r.get("now") or []) or "missing"
        out += _wrap(f"{clip(str(r.get('name')), 50)} {safe(str(r.get('type')))} -> "
                     f"{clip(now, 50)}, TTL {r.get('ttl')} s: "
                     f"{'ok' if r.get('ok') else 'MISMATCH'}", "  ", "    ")
    rec = dns.get("drill_record")
    if isinstance(rec, dict):
        out += _wrap(f"drill record {clip(str(rec.get('name')), 50)} (flipped and restored): "
                     f"{safe(str(rec.get('result', 'not flipped')))}", "  ", "    ")
    return out


# --- JSON ------------------------------------------------------------------------------------

def to_json(report: DrillReport) -> dict[str, Any]:
    """The document ``drill.schema.json`` describes: the report's dict form."""
    return report.to_dict()


# --- Markdown --------------------------------------------------------------------------------

def _md(text: str) -> str:
    """A cell: terminal-safe, and Markdown's table/inline syntax neutralised."""
    out = safe(text)
    for ch in "\\`*_[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return out


def markdown(report: DrillReport) -> str:
    """A report for a ticket or a wiki page (GitHub-flavoured Markdown tables)."""
    counts = _counts(report)
    verdict = "PASSED ✅" if report.passed else "FAILED ❌"
    lines = [
        f"## DR drill {_md(report.source)} → {_md(report.target)}: {verdict}", "",
        "| | |", "|---|---|",
        f"| run | `{safe(report.run_id).replace('`', '')}` |",
        f"| started → finished (UTC) | {_md(report.started_at)} → {_md(report.finished_at)} "
        f"({_secs(_duration(report))}) |",
        f"| partitions | {counts['verified']:,} verified, {counts['unverified']:,} unverified, "
        f"{counts['loss']:,} loss, {counts['skipped']:,} skipped |",
        f"| records seen again | {report.records_again_total:,} rec |",
        f"| RPO (worst) | {_secs(report.rpo_seconds_max)}, {_rec(report.rpo_records_max)} rec |",
        f"| RTO | {_secs(report.rto_seconds)} |",
        f"| shadow groups | {_md(report.shadow_prefix)}… "
        f"{'kept' if report.kept else 'deleted'} |",
        f"| exit code | {report.exit_code} |",
    ]
    if report.failures:
        lines += ["", "### Failures", ""] + [f"- {_md(f)}" for f in report.failures]
        step = next_step(report)
        if step:
            lines += ["", f"**Next:** {_md(step).replace(chr(92) + '`', '`')}"]
    lines += ["", "### Thresholds", "", "| threshold | limit | measured | result |",
              "|---|--:|--:|---|"]
    for name, limit, measured, fail in threshold_results(report):
        result = "not checked" if limit == "not set" else ("**exceeded**" if fail else "ok")
        lines.append(f"| {name} | {limit} | {measured} | {result} |")
    lines += ["", "### Partitions", "",
              "| group | topic | part | offset | again (rec) | bound (rec) | status | reason |",
              "|---|---|--:|--:|--:|--:|---|---|"]
    for p in _worst_first(report.partitions):
        lines.append(f"| {_md(p.group)} | {_md(p.topic)} | {p.partition} | {_rec(p.translated)} "
                     f"| {_rec(p.records_again)} | {_rec(p.predicted_bound)} | {p.status} "
                     f"| {_md(p.reason)} |")
    lines += ["", "### RTO", "", "| step | time | how |", "|---|--:|---|"]
    for s in report.rto.steps:
        lines.append(f"| {_md(s.step)} | {_secs(s.seconds)} | "
                     f"{'measured' if s.rehearsed else 'estimate'} |")
    lines.append(f"| DNS TTL | {_secs(report.rto.dns_ttl_s)} | clients wait it out |")
    if report.notes:
        lines += ["", "### Notes", ""] + [f"- {_md(n)}" for n in report.notes]
    return "\n".join(lines) + "\n"


# --- JUnit XML -------------------------------------------------------------------------------

def _xml_text(text: str) -> str:
    """XML 1.0 cannot carry most control characters even escaped: show them as ``safe`` does."""
    return safe(text)


def junit(reports: Iterable[DrillReport]) -> str:
    """JUnit XML: ``<testsuites>`` with one ``<testsuite>`` per drill. Test cases: one per
    partition check (loss → failure; unverified → failure, or skipped when the drill passed
    anyway with --allow-unverified; skipped → skipped), one per threshold (not set → skipped),
    and ``drill.result`` that fails with the drill's failure lines, so the file fails iff the
    drill did."""
    root = ET.Element("testsuites", name="drkit drill")
    tot_tests = tot_fail = tot_skip = 0
    tot_time = 0.0
    for report in reports:
        duration = max(_duration(report) or 0.0, 0.0)
        suite = ET.SubElement(root, "testsuite", name=_xml_text(
            f"drill {report.source}->{report.target}"), timestamp=report.started_at.rstrip("Z")
            [:19], hostname="drkit", id=_xml_text(report.run_id), time=f"{duration:.3f}")
        props = ET.SubElement(suite, "properties")
        for k, v in (("run_id", report.run_id), ("source", report.source),
                     ("target", report.target), ("exit_code", str(report.exit_code)),
                     ("rpo_seconds", str(report.rpo_seconds_max)),
                     ("rto_seconds", str(report.rto_seconds)),
                     ("records_again", str(report.records_again_total))):
            ET.SubElement(props, "property", name=k, value=_xml_text(v))
        tests = fails = skips = 0
        for p in sorted(report.partitions, key=lambda p: (p.group, p.topic, p.partition)):
            case = ET.SubElement(suite, "testcase", classname=_xml_text(f"partitions.{p.group}"),
                                 name=_xml_text(f"{p.topic}[{p.partition}]"), time="0")
            detail = (f"status {p.status}; translated {_rec(p.translated)}, primary committed "
                      f"{_rec(p.primary_committed)}, again {_rec(p.records_again)} rec, bound "
                      f"{_rec(p.predicted_bound)} rec; {p.reason}")
            tests += 1
            if p.status == "loss" or (p.status == "unverified" and not report.passed):
                el = ET.SubElement(case, "failure", message=_xml_text(f"{p.status}: {p.reason}"),
                                   type=p.status)
                el.text = _xml_text(detail)
                fails += 1
            elif p.status in ("skipped", "unverified"):
                ET.SubElement(case, "skipped", message=_xml_text(f"{p.status}: {p.reason}"))
                skips += 1
        for name, limit, measured, fail in threshold_results(report):
            case = ET.SubElement(suite, "testcase", classname="thresholds", name=name, time="0")
            tests += 1
            if limit == "not set":
                ET.SubElement(case, "skipped", message=f"[drill] {name} not set")
                skips += 1
            elif fail:
                el = ET.SubElement(case, "failure", message=_xml_text(fail), type="threshold")
                el.text = f"limit {limit}, measured {measured}"
                fails += 1
        case = ET.SubElement(suite, "testcase", classname="drill", name="drill.result",
                             time=f"{duration:.3f}")
        tests += 1
        if not report.passed:
            el = ET.SubElement(case, "failure", message=_xml_text(
                report.failures[0] if report.failures else f"exit code {report.exit_code}"),
                type="drill")
            el.text = _xml_text("\n".join(report.failures) + "\nNEXT: " + (next_step(report)
                                                                             or ""))
            fails += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(fails))
        suite.set("errors", "0")
        suite.set("skipped", str(skips))
        tot_tests, tot_fail, tot_skip = tot_tests + tests, tot_fail + fails, tot_skip + skips
        tot_time += duration
    root.set("tests", str(tot_tests))
    root.set("failures", str(tot_fail))
    root.set("errors", "0")
    root.set("skipped", str(tot_skip))
    root.set("time", f"{tot_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


# --- Prometheus ------------------------------------------------------------------------------

def _value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def to_prometheus(reports: Iterable[DrillReport]) -> str:
    """Text exposition format 0.0.4, every family in :data:`METRICS`, one sample per
    ``source``/``target`` pair: figures of the newest drill of the pair, the last success from
    the newest passing one (no passing drill: no sample, so ``absent()`` alerts fire)."""
    newest: dict[tuple[str, str], DrillReport] = {}
    passing: dict[tuple[str, str], DrillReport] = {}
    for r in sorted(reports, key=lambda r: parse_time(r.finished_at)):
        newest[(r.source, r.target)] = r
        if r.passed:
            passing[(r.source, r.target)] = r
    samples: dict[str, list[tuple[tuple[str, str], float]]] = {n: [] for n in METRICS}
    for pair, r in sorted(newest.items()):
        if pair in passing:
            samples["drkit_drill_last_success_timestamp_seconds"].append(
                (pair, passing[pair].finished.timestamp()))
        samples["drkit_drill_last_run_timestamp_seconds"].append((pair, r.finished.timestamp()))
        samples["drkit_drill_passed"].append((pair, int(r.passed)))
        if r.rpo_seconds_max is not None:
            samples["drkit_drill_rpo_seconds"].append((pair, r.rpo_seconds_max))
        samples["drkit_drill_rto_seconds"].append((pair, r.rto_seconds))
        samples["drkit_drill_records_again"].append((pair, r.records_again_total))
        samples["drkit_drill_unverified_partitions"].append((pair, r.unverified_partitions))
        samples["drkit_drill_loss_partitions"].append((pair, r.loss_partitions))
    lines: list[str] = []
    for name, help_text in METRICS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f'{name}{{source="{prom_label(s)}",target="{prom_label(t)}"}} {_value(v)}'
                  for (s, t), v in samples[name]]
    return "\n".join(lines) + "\n"


# --- history ---------------------------------------------------------------------------------

def history_table(reports: Sequence[DrillReport], damaged: Sequence[DamagedReport] = (),
                  limit: int = MAX_HISTORY_ROWS) -> str:
    """``drkit drill history``: newest first, one row per drill, ≤ 100 columns."""
    passed = sum(r.passed for r in reports)
    out = [f"Drills: {len(reports):,} ({passed:,} passed, {len(reports) - passed:,} failed)"
           + (f", {len(damaged):,} damaged report file(s)" if damaged else "")]
    if not reports and not damaged:
        return out[0] + "\n  none yet: run `drkit drill --from SOURCE --to TARGET`"
    rows = [[safe(r.run_id), "pass" if r.passed else "FAIL", _secs(r.rpo_seconds_max),
             _secs(r.rto_seconds), _rec(r.records_again_total), _rec(r.unverified_partitions)]
            for r in reports[:limit]]
    out += _table(["run (started, kind, source, target)", "result", "RPO", "RTO",
                   "again (rec)", "unverified"], rows, flex=0, right=(2, 3, 4, 5))
    if len(reports) > limit:
        out.append(f"  … {len(reports) - limit:,} older (--limit or --output json)")
    for d in damaged:
        out += _wrap(f"DAMAGED {safe(d.reason)}", "  ", "    ")
    last = next((r for r in reports if r.passed), None)
    if reports and not reports[0].passed:
        out += ["", *_wrap(f"NEXT: the newest drill failed; `drkit drill history --run "
                           f"{safe(reports[0].run_id)}` shows why", "", " " * 6)]
    elif reports and last is None:
        out += ["", "NEXT: no drill has passed yet"]
    return "\n".join(fit(line.rstrip(), WIDTH) for line in out)


def history_json(reports: Sequence[DrillReport],
                 damaged: Sequence[DamagedReport] = ()) -> dict[str, Any]:
    return {
        "drills": [{"run_id": r.run_id, "source": r.source, "target": r.target,
                    "started_at": r.started_at, "finished_at": r.finished_at,
                    "passed": r.passed, "exit_code": r.exit_code,
                    "rpo_seconds": r.rpo_seconds_max, "rto_seconds": r.rto_seconds,
                    "records_again": r.records_again_total,
                    "unverified_partitions": r.unverified_partitions,
                    "loss_partitions": r.loss_partitions,
                    "failures": list(r.failures)} for r in reports],
        "damaged": [{"path": str(d.path), "reason": d.reason} for d in damaged],
    }
