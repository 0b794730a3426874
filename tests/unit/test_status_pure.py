"""``drkit status``'s pure half: rules, table, JSON schema and Prometheus text, on facts by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from drkit.status.evaluate import evaluate, headline, overall, remedy
from drkit.status.model import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    Check,
    ClusterFacts,
    DnsFacts,
    FlowFacts,
    GroupFacts,
    RunFacts,
    StatusFacts,
    Thresholds,
    TopicLag,
)
from drkit.status.render import METRICS, json_schema, table, to_json, to_prometheus

T = Thresholds()


def group(name: str = "billing", **kw: Any) -> GroupFacts:
    base: dict[str, Any] = dict(
        group=name, checkpoint_age_s=30.0, behind_messages=0, idle=False,
        moved_since_checkpoint=True, ready=True, reason="commit", expected_redeliveries=0,
        standby_state="Empty", members_on_standby=0, partitions_checkpointed=3,
        partitions_consumed=3)
    return GroupFacts(**(base | kw))


def flow(**kw: Any) -> FlowFacts:
    base: dict[str, Any] = dict(
        source="primary", target="backup", heartbeat_topic="primary.heartbeats",
        heartbeat_age_s=2.0, heartbeat_error=None,
        lags=[TopicLag("orders", "primary.orders", 0, 0.0)],
        groups=[group("billing"), group("audit"), group("search")])
    return FlowFacts(**(base | kw))


def facts(**kw: Any) -> StatusFacts:
    base: dict[str, Any] = dict(
        generated_at="2026-01-02T03:04:05.678Z", duration_s=0.42,
        clusters=[ClusterFacts("primary", "p1:9092", True, None, "Pid", 1, 3),
                  ClusterFacts("backup", "b1:9092", True, None, "Bid", 4, 3)],
        flows=[flow()],
        dns=[DnsFacts("kafka.example.com", "CNAME", ["p-lb.example.com."], "primary")],
        dns_configured=True,
        runs=[RunFacts("20260101T000000Z-failover-primary-backup-aaaaaa", "failover",
                       "succeeded", "primary", "backup", "2026-01-01T00:00:00.000Z")])
    return StatusFacts(**(base | kw))


def down(alias: str, error: str = "timed out after 5 s") -> list[ClusterFacts]:
    return [ClusterFacts(a, f"{a[0]}1:9092", a != alias, error if a == alias else None)
            for a in ("primary", "backup")]


def only(checks: list[Check]) -> Check:
    assert len(checks) == 1, checks
    return checks[0]


# --- evaluate ----------------------------------------------------------------------------------

def test_healthy_has_no_checks_and_says_ok() -> None:
    f = facts()
    checks = evaluate(f, T)
    assert checks == [] and overall(checks) == OK
    text = table(f, checks)
    assert text.splitlines()[0] == "DRKIT OK - 2 clusters, 1 flow, 3 groups ready"
    assert "NEXT:" not in text and "Problems" not in text
    assert "heartbeat 2 s old" in text and "30 s" in text


@pytest.mark.parametrize("alias", ["primary", "backup"])
def test_unreachable_cluster_is_critical(alias: str) -> None:
    checks = evaluate(facts(clusters=down(alias, "Broker transport\nfailure")), T)
    c = checks[0]
    assert (c.level, c.subject) == (CRITICAL, f"cluster {alias}")
    assert c.message.startswith(f"cluster {alias} ({alias[0]}1:9092) unreachable: "
                                "Broker transport failure")
    assert headline(c) == f"cluster {alias} unreachable"
    assert overall(checks) == CRITICAL


@pytest.mark.parametrize(("age", "level", "limit"), [
    (299.0, WARNING, "warn ≥ 60 s"), (300.0, CRITICAL, "crit ≥ 300 s"),
    (60.0, WARNING, "warn ≥ 60 s"), (59.0, OK, ""), (9000.0, CRITICAL, "crit ≥ 300 s")])
def test_heartbeat_age(age: float, level: int, limit: str) -> None:
    checks = evaluate(facts(flows=[flow(heartbeat_age_s=age)]), T)
    if level == OK:
        assert checks == []
        return
    c = only(checks)
    assert (c.level, c.subject) == (level, "flow primary->backup")
    assert f"heartbeat {age:.0f} s old" in c.message and limit in c.message
    assert remedy(c) == "is MM2's primary->backup running? see its log"


def test_heartbeat_unavailable_warns_with_the_reason() -> None:
    why = "topic primary.heartbeats does not exist on backup"
    c = only(evaluate(facts(flows=[flow(heartbeat_age_s=None, heartbeat_error=why)]), T))
    assert c.level == WARNING and why in c.message and "--clusters backup" in remedy(c)
    assert headline(c) == "primary->backup heartbeat unavailable"


def test_heartbeat_unreadable_on_a_down_target_adds_nothing() -> None:
    f = facts(clusters=down("backup"), flows=[flow(heartbeat_age_s=None,
                                                   heartbeat_error="backup unreachable")])
    assert only(evaluate(f, T)).subject == "cluster backup"


@pytest.mark.parametrize(("lag", "level", "words"), [
    (TopicLag("orders", "primary.orders", 10, 61.0), WARNING, "61 s behind (warn ≥ 60 s)"),
    (TopicLag("orders", "primary.orders", 10, 300.0), CRITICAL, "300 s behind (crit ≥ 300 s)"),
    (TopicLag("orders", "primary.orders", 10**9, 1.0), OK, ""),  # messages thresholds off
    (TopicLag("orders", "primary.orders", None, None), OK, "")])
def test_lag_seconds(lag: TopicLag, level: int, words: str) -> None:
    checks = evaluate(facts(flows=[flow(lags=[lag])]), T)
    if level == OK:
        assert checks == []
        return
    c = only(checks)
    assert (c.level, c.subject) == (level, "topic orders (primary->backup)")
    assert words in c.message and "keeping up with orders" in remedy(c)


def test_lag_messages_and_none_thresholds() -> None:
    f = facts(flows=[flow(lags=[TopicLag("orders", "primary.orders", 5000, 900.0)])])
    t = Thresholds(lag_seconds_warn=None, lag_seconds_crit=None, lag_messages_warn=1000,
                   lag_messages_crit=10000)
    c = only(evaluate(f, t))
    assert c.level == WARNING and "5,000 records behind (warn ≥ 1,000 records)" in c.message
    assert "900 s" not in c.message
    off = Thresholds(lag_seconds_warn=None, lag_seconds_crit=None)
    assert evaluate(f, off) == []


def test_lag_error_warns_only_while_the_source_is_reachable() -> None:
    broken = flow(lags=[], lag_error="no offset-syncs in mm2-offset-syncs.backup.internal")
    c = only(evaluate(facts(flows=[broken]), T))
    assert c.level == WARNING and "record lag unknown: no offset-syncs" in c.message
    f = facts(clusters=down("primary"), flows=[replace(broken, lag_error="primary is down")])
    assert only(evaluate(f, T)).subject == "cluster primary"


@pytest.mark.parametrize(("age", "level"), [(299.0, OK), (300.0, WARNING), (900.0, CRITICAL)])
def test_stale_checkpoint_of_a_moving_group(age: float, level: int) -> None:
    checks = evaluate(facts(flows=[flow(groups=[group(checkpoint_age_s=age)])]), T)
    if level == OK:
        assert checks == []
        return
    c = only(checks)
    assert (c.level, c.subject) == (level, "group billing (primary->backup)")
    assert f"checkpoint {age:.0f} s old" in c.message and "moved on primary" in c.message
    assert "checkpoint connector for primary->backup" in remedy(c)


@pytest.mark.parametrize("moved", [False, None, True])
def test_idle_groups_never_alarm(moved: bool | None) -> None:
    g = group(checkpoint_age_s=7 * 86400.0, idle=True, moved_since_checkpoint=moved)
    assert evaluate(facts(flows=[flow(groups=[g])]), T) == []


def test_unknown_source_caps_a_stale_checkpoint_at_warning() -> None:
    g = group(checkpoint_age_s=3600.0, moved_since_checkpoint=None)
    c = only(evaluate(facts(flows=[flow(groups=[g])]), T))
    assert c.level == WARNING
    assert "cannot tell idle from stuck without the source" in c.message
    assert "3600 s old (60 min; crit ≥ 900 s)" in c.message


def test_active_members_on_the_standby_make_a_group_not_ready() -> None:
    g = group(ready=False, reason="2 active members on backup (Stable)", members_on_standby=2,
              standby_state="Stable")
    c = only(evaluate(facts(flows=[flow(groups=[g])]), T))
    assert c.level == WARNING and "not ready for a failover: 2 active members" in c.message
    assert remedy(c) == "stop its consumers on backup before a failover"


def test_untranslated_partitions_point_at_the_plan() -> None:
    g = group("it's.odd", ready=False, reason="no checkpoint for 2 of 3 partitions",
              partitions_checkpointed=1)
    c = only(evaluate(facts(flows=[flow(groups=[g])]), T))
    assert "no checkpoint for 2 of 3 partitions" in c.message
    assert "drkit plan --from primary --to backup --group " in remedy(c)


def test_expected_redeliveries() -> None:
    f = facts(flows=[flow(groups=[group(expected_redeliveries=5000)])])
    assert evaluate(f, T) == []  # redeliveries_warn None: off
    c = only(evaluate(f, Thresholds(redeliveries_warn=5000)))
    assert c.level == WARNING and "re-deliver 5,000 records" in c.message
    assert evaluate(f, Thresholds(redeliveries_warn=5001)) == []


def test_groups_error_is_unknown_and_critical_still_wins() -> None:
    broken = flow(groups=[], groups_error="checkpoints topic unreadable: timed out")
    c = only(evaluate(facts(flows=[broken]), T))
    assert (c.level, c.subject) == (UNKNOWN, "flow primary->backup")
    assert "`drkit plan --from primary --to backup`" in remedy(c)
    both = evaluate(facts(clusters=down("backup"), flows=[broken]), T)
    assert [x.level for x in both] == [CRITICAL, UNKNOWN] and overall(both) == CRITICAL
    assert overall([Check(WARNING, "a", "x"), Check(UNKNOWN, "b", "y")]) == UNKNOWN


def test_dns_problems() -> None:
    f = facts(dns=[DnsFacts("a.example.com", "A", [], None, error="SERVFAIL"),
                   DnsFacts("b.example.com", "A", ["10.9.9.9"], None),
                   DnsFacts("c.example.com", "A", ["10.0.0.1"], "primary")])
    a, b = evaluate(f, T)
    assert (a.level, a.subject) == (WARNING, "dns a.example.com") and "SERVFAIL" in a.message
    assert b.level == WARNING and "points at no known cluster: 10.9.9.9" in b.message
    g = only(evaluate(facts(dns=[], dns_error="route53: AccessDenied"), T))
    assert g.level == WARNING and "AccessDenied" in g.message


def _run(run_id: str, status: str, created: str, kind: str = "failover") -> RunFacts:
    return RunFacts(run_id, kind, status, "primary", "backup", created)


def test_newest_run_of_a_flow_that_did_not_succeed() -> None:
    runs = [_run("r1", "failed", "2026-01-01T00:00:00Z"),
            _run("r2", "interrupted", "2026-01-02T00:00:00Z")]
    c = only(evaluate(facts(runs=runs), T))
    assert (c.level, c.subject) == (WARNING, "run r2")
    assert "run r2 (failover primary->backup) is interrupted" in c.message
    assert remedy(c) == "resume it with `drkit failover --resume r2`"
    superseded = [*runs, _run("r3", "succeeded", "2026-01-03T00:00:00Z")]
    assert evaluate(facts(runs=superseded), T) == []
    live = only(evaluate(facts(runs=[_run("r4", "running", "x", kind="drill")]), T))
    assert "if its drkit process is gone" in remedy(live)
    assert "drkit drill --resume r4" in live.message


def test_every_damaged_journal_warns_on_its_own() -> None:
    damaged = [RunFacts(f"d{i}", "?", "damaged", None, None, None) for i in (1, 2)]
    checks = evaluate(facts(runs=[*facts().runs, *damaged]), T)
    assert [c.subject for c in checks] == ["run d1", "run d2"]
    assert all("never overwrites a damaged journal" in remedy(c) for c in checks)
    doc = _doc(facts(runs=damaged))
    jsonschema.validate(doc, json_schema(), cls=jsonschema.Draft202012Validator)


def test_worst_first_then_subject() -> None:
    f = facts(clusters=down("primary"),
              flows=[flow(heartbeat_age_s=120.0, lag_error="x",
                          groups=[group("zeta", ready=False, reason="r"),
                                  group("alpha", ready=False, reason="r")])],
              runs=[_run("r9", "failed", "2026-01-01T00:00:00Z")])
    checks = evaluate(f, T)
    assert [c.subject for c in checks] == [
        "cluster primary", "flow primary->backup", "group alpha (primary->backup)",
        "group zeta (primary->backup)", "run r9"]
    assert [c.level for c in checks] == [CRITICAL, WARNING, WARNING, WARNING, WARNING]


# --- table -------------------------------------------------------------------------------------

def broken_facts(n_groups: int = 60) -> StatusFacts:
    long = "a-very-long-consumer-group-name-" * 5
    groups = [group(f"{long}{i:03d}", checkpoint_age_s=12.0 + i * 100) for i in range(n_groups)]
    groups.append(group("stuck", ready=False, reason="3 active members on backup " * 6,
                        members_on_standby=3, checkpoint_age_s=5400.0))
    return facts(
        clusters=[ClusterFacts("primary-" + "x" * 90, "p1:9092," * 20, False, "timed out " * 40),
                  ClusterFacts("backup", "b1:9092", True, None, "Bid" * 20, 4, 3)],
        flows=[flow(source="primary-" + "x" * 90, heartbeat_age_s=None,
                    heartbeat_error="topic missing " * 20,
                    lags=[TopicLag("t" * 150, "p." + "t" * 150, 123456789, 7200.0)],
                    groups=groups)],
        dns=[DnsFacts("kafka." + "d" * 120, "CNAME", ["x" * 150], None)],
        runs=[_run(f"run-{i}-" + "r" * 60, "failed", f"2026-01-0{i}T00:00:00Z")
              for i in range(1, 9)])


def test_table_fits_100_columns_with_long_names_and_many_groups() -> None:
    f = broken_facts()
    checks = evaluate(f, Thresholds(checkpoint_age_warn=10**9, checkpoint_age_crit=10**9))
    text = table(f, checks)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].startswith("DRKIT CRITICAL - 6 problems: cluster primary-xxx")
    group_rows = lines[lines.index(next(x for x in lines if x.startswith("Groups "))) + 3:]
    assert group_rows[0].lstrip().startswith("stuck ")  # not ready: worst first
    assert "  … 41 more (--output json lists all)" in lines
    assert sum(line.lstrip().startswith("a-very-long") for line in group_rows) == 19
    assert "…" in text and "90 min" in text and "2.0 h" in text  # ages carry their units
    runs = lines[lines.index("Last runs") + 3:]
    assert [r.split()[0][:6] for r in runs[:5]] == [f"run-{i}-" for i in (8, 7, 6, 5, 4)]
    next_lines = lines[next(i for i, x in enumerate(lines) if x.startswith("NEXT: ")):]
    squeeze = "".join  # words longer than a line are split; nothing else changes
    assert squeeze("".join(next_lines).split()) == squeeze(f"NEXT: {remedy(checks[0])}".split())


def test_summary_names_the_problems_and_next_is_the_worst_ones_remedy() -> None:
    f = facts(clusters=down("primary"), flows=[flow(heartbeat_age_s=400.0)])
    lines = table(f, evaluate(f, T)).splitlines()
    assert lines[0] == ("DRKIT CRITICAL - 2 problems: cluster primary unreachable; "
                        "primary->backup heartbeat 400 s old")
    assert lines[-1] == "NEXT: check primary's brokers and the network from this host to p1:9092"


# --- JSON --------------------------------------------------------------------------------------

def _doc(f: StatusFacts) -> dict[str, Any]:
    checks = evaluate(f, T)
    return json.loads(json.dumps(to_json(f, checks, overall(checks))))  # type: ignore[no-any-return]


@pytest.mark.parametrize("f", [facts(), broken_facts(3), facts(flows=[flow(
    groups=[], groups_error="x")], dns=[], dns_error="y", dns_configured=True, runs=[])])
def test_json_validates_against_the_schema(f: StatusFacts) -> None:
    doc = _doc(f)
    jsonschema.validate(doc, json_schema(), cls=jsonschema.Draft202012Validator)
    assert doc["schema_version"] == 1 and doc["exit_code"] in (0, 2, 3)
    assert set(doc) == {"schema_version", "status", "exit_code", "generated_at", "duration_s",
                        "checks", "clusters", "flows", "dns", "runs", "drills", "notes"}


@pytest.mark.parametrize("damage", [
    {"status": "BROKEN"}, {"status": "WARNING"}, {"exit_code": 4}, {"surprise": 1},
    {"dns": {"configured": True, "error": None}}])
def test_schema_rejects_a_wrong_document(damage: dict[str, Any]) -> None:
    doc = _doc(facts()) | damage
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json_schema(), cls=jsonschema.Draft202012Validator)


def test_schema_rejects_a_wrong_check_level() -> None:
    doc = _doc(facts(clusters=down("primary")))
    doc["checks"][0]["level"] = "FATAL"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json_schema(), cls=jsonschema.Draft202012Validator)


# --- Prometheus --------------------------------------------------------------------------------

def _parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {fam.name: [(s.labels, s.value) for s in fam.samples]
            for fam in text_string_to_metric_families(text)}


def test_prometheus_families_and_samples() -> None:
    f = facts(dns=[DnsFacts("kafka.example.com", "A", ["10.0.0.1"], "primary"),
                   DnsFacts("kafka.example.com", "AAAA", ["fd00::1"], "primary")])
    checks = evaluate(f, T)
    text = to_prometheus(f, checks, overall(checks))
    fams = _parse(text)
    assert set(fams) == set(METRICS)
    assert all(f"# HELP {name} " in text and f"# TYPE {name} gauge" in text for name in METRICS)
    assert fams["drkit_status"] == [({}, 0)]
    assert fams["drkit_up"] == [({"cluster": "primary"}, 1), ({"cluster": "backup"}, 1)]
    flow_labels = {"source": "primary", "target": "backup"}
    assert fams["drkit_mm2_heartbeat_age_seconds"] == [(flow_labels, 2.0)]
    assert fams["drkit_replication_lag_messages"] == [(flow_labels | {"topic": "orders"}, 0)]
    assert len(fams["drkit_group_failover_ready"]) == 3
    assert fams["drkit_dns_record_points_at"] == [
        ({"record": "kafka.example.com", "cluster": "primary"}, 1)]  # A and AAAA: one sample
    assert fams["drkit_last_run_info"][0][0]["status"] == "succeeded"
    assert fams["drkit_status_generated_timestamp_seconds"] == [({}, 1767323045.678)]


def test_prometheus_omits_unknown_values_and_escapes_labels() -> None:
    odd = 'we"ird\\group\nname'
    f = facts(clusters=down("primary"),
              flows=[flow(heartbeat_age_s=None, heartbeat_error="gone",
                          lags=[TopicLag(odd, "primary." + odd, None, None)],
                          groups=[group(odd, checkpoint_age_s=None, behind_messages=None,
                                        expected_redeliveries=None, ready=False)])])
    checks = evaluate(f, T)
    fams = _parse(to_prometheus(f, checks, overall(checks)))
    assert fams["drkit_status"] == [({}, 2)]
    assert ({"cluster": "primary"}, 0) in fams["drkit_up"]
    assert fams["drkit_cluster_brokers"] == []  # primary has no known broker count
    for name in ("drkit_mm2_heartbeat_age_seconds", "drkit_replication_lag_seconds",
                 "drkit_checkpoint_age_seconds", "drkit_group_expected_redeliveries"):
        assert fams[name] == [], name
    [(labels, value)] = fams["drkit_group_failover_ready"]
    assert labels["group"] == odd and value == 0
