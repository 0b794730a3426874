"""``drkit status`` output: a 100-column table for people, JSON and Prometheus text for machines.

Pure functions of the facts and the checks (``evaluate.py``): the table leads with the Nagios
summary line and ends with the one thing to do next; the JSON document follows
``status.schema.json`` (load it with :func:`json_schema`); the Prometheus text follows the
exposition format 0.0.4, for node_exporter's textfile collector, with the names in
:data:`METRICS`.
"""

from __future__ import annotations

import json
import math
import textwrap
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from tabulate import tabulate

from drkit.status.evaluate import (
    flow_name,
    group_subject,
    headline,
    newest_runs,
    overall,
    remedy,
    severity,
    topic_subject,
)
from drkit.status.model import (
    LEVEL_NAMES,
    OK,
    Check,
    FlowFacts,
    GroupFacts,
    StatusFacts,
    TopicLag,
)
from drkit.text import WIDTH, age, clip, display_width, fit, safe
from drkit.textsafe import prom_label

SCHEMA_VERSION = 1
MAX_GROUP_ROWS = 20
MAX_TOPIC_ROWS = 20
MAX_PROBLEM_ROWS = 20
MAX_RUN_ROWS = 5

# name -> help; all are gauges. docs/status.md copies this table; names are a public interface.
METRICS: dict[str, str] = {
    "drkit_status": "Overall drkit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the exit code).",
    "drkit_up": "1 if drkit reached the cluster, 0 if not.",
    "drkit_cluster_brokers": "Brokers the cluster reports in its metadata.",
    "drkit_mm2_heartbeat_age_seconds":
        "Age of the newest MM2 heartbeat replicated source->target (end-to-end health).",
    "drkit_replication_lag_messages":
        "Records of the source topic not yet mirrored to the target.",
    "drkit_replication_lag_seconds":
        "Age of the oldest source record not yet mirrored (0: caught up).",
    "drkit_checkpoint_age_seconds": "Age of the group's newest MM2 checkpoint on the target.",
    "drkit_checkpoint_behind_messages":
        "Records between the group's checkpoint and the mirrored log end (redone on failover).",
    "drkit_group_failover_ready":
        "1 if failing the group over now would commit all its partitions, 0 if not.",
    "drkit_group_expected_redeliveries":
        "Records the group would receive again after a failover now.",
    "drkit_dns_record_points_at": "1 for each cluster a configured DNS record points at.",
    "drkit_last_run_info": "1 for the newest failover/failback/drill run of each flow.",
    # drkit_drill_last_success_timestamp_seconds is the drill textfile's (drkit drill
    # --prometheus-file, rendered from the whole history): one series in one file, so both
    # textfiles can share node_exporter's directory (docs/drills.md).
    "drkit_status_duration_seconds": "Seconds drkit status took to gather its facts.",
    "drkit_status_generated_timestamp_seconds": "Unix time when drkit status gathered its facts.",
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`to_json`'s document, shipped in the package."""
    text = resources.files("drkit.status").joinpath("status.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- table -----------------------------------------------------------------------------------

def summary(facts: StatusFacts, checks: list[Check]) -> str:
    """The Nagios first line: status, how many problems and their headlines, ≤ 100 columns."""
    status = overall(checks)
    if status == OK and not checks:
        groups = sum(g.ready for f in facts.flows for g in f.groups)
        return clip(f"DRKIT OK - {_n(len(facts.clusters), 'cluster')}, "
                    f"{_n(len(facts.flows), 'flow')}, {_n(groups, 'group')} ready", WIDTH)
    items = "; ".join(_headlines(checks))
    return clip(f"DRKIT {LEVEL_NAMES[status]} - {_n(len(checks), 'problem')}: {items}", WIDTH)


def _headlines(checks: list[Check]) -> list[str]:
    """Headlines in order, those saying the same of several subjects of one kind said once:
    "groups a, b not ready for a failover", not the phrase again for every group."""
    merged: dict[tuple[str, str], list[str]] = {}
    for c in checks:
        text = headline(c)
        who = c.subject.rpartition(" (")[0] or c.subject  # "group g (a->b)" -> "group g"
        kind, _, name = who.partition(" ")
        if name and text.startswith(who + " "):
            merged.setdefault((kind, text[len(who) + 1:]), []).append(name)
        else:
            merged.setdefault((text, ""), [])
    out = []
    for (kind, rest), names in merged.items():
        if not names:
            out.append(kind)
        elif len(names) == 1:
            out.append(f"{kind} {names[0]} {rest}")
        else:
            out.append(f"{kind}s {', '.join(names)} {rest}")
    return out


def table(facts: StatusFacts, checks: list[Check]) -> str:
    """Summary, problems, then compact sections; every line ≤ 100 columns, worst first."""
    # Names from the clusters (groups, topics, DNS values, run ids) are shown through
    # clip/safe, so no control sequence reaches the terminal; lines are then only cut (fit).
    out = [summary(facts, checks),
           f"generated {safe(facts.generated_at)} in {facts.duration_s:.2f} s"]
    if checks:
        out += ["", "Problems (worst first)"]
        for c in checks[:MAX_PROBLEM_ROWS]:
            out += _wrap(f"{LEVEL_NAMES[c.level]:<9}{safe(c.message)}", "  ", " " * 11)
        out += _more(len(checks) - MAX_PROBLEM_ROWS)
    for note in facts.notes:
        out += _wrap(f"note: {safe(note)}", "", " " * 6)
    out += ["", "Clusters"]
    out += _table(["alias", "reachable", "brokers", "controller", "cluster id", "bootstrap"],
                  [[clip(c.alias, 20), "yes" if c.reachable else "NO", _int(c.brokers),
                    _int(c.controller_id), clip(c.cluster_id or "-", 24), safe(c.bootstrap)]
                   for c in facts.clusters], flex=5, right=(2, 3))
    by_subject: dict[str, int] = {}
    for c in checks:
        by_subject[c.subject] = max(by_subject.get(c.subject, 0), severity(c.level))
    for flow in facts.flows:
        out += ["", *_replication(flow, by_subject), "", *_groups(flow, by_subject)]
    out += _dns(facts)
    out += _runs(facts)
    out += _drills(facts)
    if checks:
        out.append("")
        out += _wrap(f"NEXT: {safe(remedy(checks[0]) or checks[0].message)}", "", " " * 6)
    return "\n".join(fit(line.rstrip(), WIDTH) for line in out)


def _wrap(text: str, first: str, rest: str) -> list[str]:
    """Wrap at spaces only: run ids and commands keep their hyphens, so they copy and paste."""
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _int(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _more(hidden: int) -> list[str]:
    return [f"  … {hidden} more (--output json lists all)"] if hidden > 0 else []


def _table(headers: list[str], rows: list[list[str]], flex: int, right: tuple[int, ...] = (),
           indent: int = 2) -> list[str]:
    """Columns two spaces apart, column ``flex`` clipped so each line fits WIDTH; numbers in
    the ``right`` columns. The header row is ours: tabulate would pad every header by 2."""
    if not rows:
        return [" " * indent + "(none)"]
    width = display_width  # cells are safe text already: measured, never escaped again
    widths = [max(len(h), *(width(r[i]) for r in rows)) for i, h in enumerate(headers)]
    room = WIDTH - indent - 2 * (len(headers) - 1) - sum(w for i, w in enumerate(widths)
                                                         if i != flex)
    room = max(room, len(headers[flex]))
    rows = [[fit(cell, room) if i == flex else cell for i, cell in enumerate(r)] for r in rows]
    widths[flex] = max(len(headers[flex]), *(width(r[flex]) for r in rows))
    align = ["right" if i in right else "left" for i in range(len(headers))]
    text = tabulate([headers, ["-" * w for w in widths], *rows], tablefmt="plain",
                    disable_numparse=True, colalign=align)
    return [" " * indent + line for line in text.splitlines()]


def _replication(flow: FlowFacts, by_subject: dict[str, int]) -> list[str]:
    name = safe(flow_name(flow.source, flow.target))
    if flow.heartbeat_age_s is not None:
        beat = f"heartbeat {age(flow.heartbeat_age_s)} old ({safe(flow.heartbeat_topic)})"
    else:
        beat = f"heartbeat unavailable: {safe(flow.heartbeat_error or 'no record found')}"
    out = [fit(f"Replication {name}: {beat}", WIDTH)]
    if flow.lag_error is not None:
        out.append(clip(f"  lag unknown: {' '.join(flow.lag_error.split())}", WIDTH))
    if not flow.lags:
        return out if flow.lag_error is not None else [*out, "  (no mirrored topics measured)"]

    def worst(lag: TopicLag) -> tuple[int, float, float, str]:
        return (-by_subject.get(topic_subject(flow, lag.topic), 0),
                -(lag.seconds if lag.seconds is not None else -1.0),
                -(lag.messages if lag.messages is not None else -1), lag.topic)

    lags = sorted(flow.lags, key=worst)
    rows = [[clip(lag.topic, 32), _int(lag.messages), age(lag.seconds), safe(lag.mirror)]
            for lag in lags[:MAX_TOPIC_ROWS]]
    return out + _table(["topic", "lag (records)", "lag (time)", "mirror"], rows, flex=3,
                        right=(1, 2)) + _more(
        len(lags) - MAX_TOPIC_ROWS)


def _groups(flow: FlowFacts, by_subject: dict[str, int]) -> list[str]:
    name = safe(flow_name(flow.source, flow.target))
    if flow.groups_error is not None:
        return [fit(f"Groups {name}: unknown: {safe(' '.join(flow.groups_error.split()))}",
                    WIDTH)]
    ready = sum(g.ready for g in flow.groups)
    out = [f"Groups {name}: {ready} of {len(flow.groups)} ready"]
    if not flow.groups:
        return out

    def worst(g: GroupFacts) -> tuple[int, bool, float, str]:
        stale = -1.0 if g.idle or g.checkpoint_age_s is None else g.checkpoint_age_s
        return -by_subject.get(group_subject(flow, g.group), 0), g.ready, -stale, g.group

    groups = sorted(flow.groups, key=worst)
    rows = [[clip(g.group, 26), "yes" if g.ready else "NO", age(g.checkpoint_age_s),
             _int(g.behind_messages), _int(g.expected_redeliveries),
             safe(("idle; " if g.idle else "") + " ".join(g.reason.split()))]
            for g in groups[:MAX_GROUP_ROWS]]
    headers = ["group", "ready", "ckpt age", "behind (rec)", "redeliv (rec)", "reason"]
    return out + _table(headers, rows, flex=5, right=(2, 3, 4)) + _more(
        len(groups) - MAX_GROUP_ROWS)


def _dns(facts: StatusFacts) -> list[str]:
    if not facts.dns_configured and not facts.dns and facts.dns_error is None:
        return []
    out = ["", "DNS"]
    if facts.dns_error is not None:
        out.append(f"  unknown: {safe(' '.join(facts.dns_error.split()))}")
    rows = [[clip(d.name, 36), safe(d.type), "→ " + safe(", ".join(d.values) or "-"),
             safe(d.points_at or ("ERROR" if d.error else "no known cluster"))]
            for d in facts.dns]
    return out + _table(["record", "type", "value", "points at"], rows, flex=2)


def _runs(facts: StatusFacts) -> list[str]:
    if not facts.runs:
        return []
    runs = sorted(facts.runs, key=lambda r: (r.created_at or "", r.run_id), reverse=True)
    rows = [[safe(r.run_id), safe(r.status), safe(r.kind),
             safe(flow_name(r.source, r.target)) if r.source and r.target else "-"]
            for r in runs[:MAX_RUN_ROWS]]
    return ["", "Last runs", *_table(["run", "status", "kind", "flow"], rows, flex=3)]


def _drills(facts: StatusFacts) -> list[str]:
    """One line per flow: the age of its last passing drill (no drill yet: said, not alarmed)."""
    lines = []
    for d in facts.drills:
        name = clip(flow_name(d.source, d.target), 60)
        limit = f" (max {d.max_age_days:g} d)" if d.max_age_days is not None else ""
        if d.last_success_at is None:
            tail = (f"; newest {clip(d.last_run_id, 60)} FAILED" if d.last_run_id else "")
            lines.append(f"  {name}: no passing drill yet{limit}{tail} — run "
                         f"`drkit drill --from {clip(d.source, 40)} --to {clip(d.target, 40)}`")
            continue
        failed = ("" if d.last_passed or d.last_run_id is None
                  else f"; newest {clip(d.last_run_id, 60)} FAILED")
        old = d.last_success_age_s or 0.0
        shown = f"{old / 86400:.1f} d" if old >= 172800 else age(old)
        lines.append(f"  {name}: last passing drill {shown} old{limit}, "
                     f"{clip(d.last_success_run_id or '-', 60)}{failed}")
    return ["", "Drills", *lines] if lines else []


# --- JSON ------------------------------------------------------------------------------------

def to_json(facts: StatusFacts, checks: list[Check], status: int) -> dict[str, Any]:
    """The stable document of ``status.schema.json`` (schema_version 1): facts in full."""
    d = facts.to_dict()
    return {
        "schema_version": SCHEMA_VERSION,
        "status": LEVEL_NAMES[status],
        "exit_code": status,
        "generated_at": d["generated_at"],
        "duration_s": d["duration_s"],
        "checks": [c.to_dict() for c in checks],
        "clusters": d["clusters"],
        "flows": d["flows"],
        "dns": {"configured": d["dns_configured"], "error": d["dns_error"], "records": d["dns"]},
        "runs": d["runs"],
        "drills": d["drills"],
        "notes": d["notes"],
    }


# --- Prometheus ------------------------------------------------------------------------------

Sample = tuple[dict[str, str], float]


def to_prometheus(facts: StatusFacts, checks: list[Check], status: int) -> str:
    """Text exposition format 0.0.4: every family in :data:`METRICS` with HELP and TYPE lines,
    a sample only where the value is known (no sample beats a made-up 0)."""
    del checks  # the status says it all; the checks' texts are for people
    samples: dict[str, list[Sample]] = {name: [] for name in METRICS}
    samples["drkit_status"].append(({}, status))
    for c in facts.clusters:
        samples["drkit_up"].append(({"cluster": c.alias}, int(c.reachable)))
        if c.brokers is not None:
            samples["drkit_cluster_brokers"].append(({"cluster": c.alias}, c.brokers))
    for f in facts.flows:
        _flow_samples(f, samples)
    seen: set[tuple[str, str]] = set()  # A and AAAA records of one name: one sample per cluster
    for d in facts.dns:
        if d.points_at is not None and (d.name, d.points_at) not in seen:
            seen.add((d.name, d.points_at))
            samples["drkit_dns_record_points_at"].append(
                ({"record": d.name, "cluster": d.points_at}, 1))
    for r in newest_runs(facts.runs):
        samples["drkit_last_run_info"].append(
            ({"run_id": r.run_id, "kind": r.kind, "status": r.status}, 1))
    samples["drkit_status_duration_seconds"].append(({}, facts.duration_s))
    generated = _timestamp(facts.generated_at)
    if generated is not None:
        samples["drkit_status_generated_timestamp_seconds"].append(({}, generated))
    lines: list[str] = []
    for name, help_text in METRICS.items():
        lines += [f"# HELP {name} {_escape_help(help_text)}", f"# TYPE {name} gauge"]
        lines += [f"{name}{_labels(labels)} {_value(v)}" for labels, v in samples[name]]
    return "\n".join(lines) + "\n"


def _flow_samples(f: FlowFacts, samples: dict[str, list[Sample]]) -> None:
    flow = {"source": f.source, "target": f.target}
    if f.heartbeat_age_s is not None:
        samples["drkit_mm2_heartbeat_age_seconds"].append((flow, f.heartbeat_age_s))
    for lag in f.lags:
        labels = {**flow, "topic": lag.topic}
        if lag.messages is not None:
            samples["drkit_replication_lag_messages"].append((labels, lag.messages))
        if lag.seconds is not None:
            samples["drkit_replication_lag_seconds"].append((labels, lag.seconds))
    for g in f.groups:
        labels = {**flow, "group": g.group}
        if g.checkpoint_age_s is not None:
            samples["drkit_checkpoint_age_seconds"].append((labels, g.checkpoint_age_s))
        if g.behind_messages is not None:
            samples["drkit_checkpoint_behind_messages"].append((labels, g.behind_messages))
        samples["drkit_group_failover_ready"].append((labels, int(g.ready)))
        if g.expected_redeliveries is not None:
            samples["drkit_group_expected_redeliveries"].append(
                (labels, g.expected_redeliveries))


def _timestamp(iso: str) -> float | None:
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{prom_label(v)}"' for k, v in labels.items()) + "}"


def _value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
