"""Proof that drkit reads mm2.properties as MirrorMaker 2 4.2.0 does (issue 18, "the proof").

How it works
------------
* ``tests/mm2diff/Mm2Facts.java`` is compiled once per session (``javac`` against the Kafka 4.2.0
  jars the lab assembles, :func:`drkit.lab.jars.ensure_jars`) and run ONCE over the whole corpus.
  It loads each file as ``MirrorMaker.main`` does and asks MM2's own classes
  (``MirrorMakerConfig``, ``MirrorSourceConfig``, ``MirrorCheckpointConfig``,
  ``MirrorHeartbeatConfig``, ``MirrorClientConfig``, the configured ``ReplicationPolicy`` /
  ``TopicFilter`` / ``GroupFilter`` instances) for the facts drkit derives: clusters, which pairs
  MM2 actually replicates, each pair's policy, separator and internal topic names and where they
  live, a remote topic name and its parse, topic/group filter decisions for fixed sample names,
  the emit/sync flags, and every cluster's consumer and admin client settings (secrets hashed).
* ``tests/mm2diff/drkit_facts.py`` produces the same facts from drkit's public config API.
* Each corpus file is one test: the two fact trees are flattened to ``path -> value`` and
  compared field by field; a failure prints every differing field with both values.

Differences
-----------
* :data:`DELIBERATE` is THE table of intended differences: (file glob, field glob, reason).
  A row that no longer matches any difference fails the test (so stale rows get removed).
* :data:`PENDING_FIXES` maps a corpus file to the drkit bug it shows (issue 18 items 2-8, or a
  newly found one). Those files are ``xfail(strict=True)``: when the fix lands the test XPASSes,
  which fails the run, and the row must be deleted - from then on the file guards the fix.
* :data:`NOT_COMPARED` lists facts the harness prints only for diagnosis.

Adding a corpus file
--------------------
Drop ``tests/data/mm2-corpus/<name>.properties`` with a one-line ``# Style: ...`` header saying
where the style comes from (write it from documented facts; do not paste other projects' files).
If drkit needs a drkit.toml for it (``[mm2.topics]``, PEM replacements), put it next to it as
``<name>.drkit.toml``. Run ``pytest tests/integration/test_mm2_config_parity.py -k <name>``; a
difference is either a drkit bug (fix it, or add it to PENDING_FIXES with a precise description)
or deliberate (add a DELIBERATE row with the reason). Sample topic and group names live in both
``Mm2Facts.java`` and ``drkit_facts.py`` and must stay identical (a test checks that).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from drkit.lab.jars import KafkaJars
from tests.mm2diff import drkit_facts as drkit_side
from tests.mm2diff.harness import HERE, compile_harness, run_harness

pytestmark = pytest.mark.integration

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "mm2-corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.properties"))

#: Facts Mm2Facts prints for diagnosis only; drkit has no counterpart.
NOT_COMPARED = {
    # Which herders MirrorMaker.clusterPairs() creates: an MM2 runtime detail; "enabled" (herder
    # AND an enabled MirrorSourceConnector) is the fact drkit must match.
    "herder",
    # Same name as offset_syncs_topic unless MM2 itself is inconsistent; drkit has one name.
    "offset_syncs_topic_per_source_connector",
}

_JKS = (
    "JKS stores cannot be read by librdkafka; drkit refuses the cluster (client_usable=false) "
    "and asks for a PEM via [clusters.<alias>.client] ssl.ca.location (design.md, Config)"
)
#: THE table of deliberate differences: (corpus file glob, flattened field glob, reason).
DELIBERATE: list[tuple[str, str, str]] = [
    ("ssl-jks.properties", "cluster.*.*.ssl.truststore", _JKS),
    ("ssl-jks.properties", "cluster.*.*.ssl.keystore", _JKS),
    ("ssl-jks.properties", "cluster.*.client_usable", _JKS),
    ("ssl-jks.properties", "pair.*.source_consumer.ssl.*store", _JKS),
    ("ssl-jks.properties", "pair.*.target_admin.ssl.*store", _JKS),
    ("ssl-jks-with-toml.properties", "*ssl.truststore",
     "drkit.toml replaces the JKS truststore with a PEM CA for librdkafka (same CA, other file)"),
    ("msk-iam.properties", "cluster.*.client_usable",
     "AWS_MSK_IAM needs the Java IAMLoginModule/callback handler; librdkafka has no equivalent, "
     "so drkit marks the cluster unusable and asks for librdkafka sasl.* settings in drkit.toml"),
    ("msk-iam.properties", "*.sasl.login.module",
     "drkit keeps no login module for IAM (it cannot map it); see client_usable"),
    ("item8-custom-policy.properties", "pair.*.error",
     "a custom replication.policy.class without [mm2.topics] overrides: drkit cannot run Java "
     "policy code and refuses to guess internal topic names (item 8 improves where to put them, "
     "not this); with overrides (item8-custom-policy-with-toml) drkit matches MM2"),
    ("regex-java-only.properties", "pair.primary->backup.*",
     "filters are java.util.regex patterns; drkit matches names with Python re, which has no "
     "\\Q...\\E quoting or [a-z&&[^x]] class intersection. Rather than guess which names MM2 "
     "checkpoints, drkit reports a problem on that flow only (naming the file, line and "
     "pattern), so commands on it exit 2; other flows are unaffected"),
]

#: Corpus files on which drkit is known to differ from MM2, pending a fix in drkit/config.
#: Each is xfail(strict=True): delete the row when the fix lands (the test then XPASSes).
#: Baseline: drkit as committed at 8311bf3.
PENDING_FIXES: dict[str, str] = {}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _trimmed(facts: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``facts`` minus NOT_COMPARED, flattened. A pair or cluster that either side could not read
    keeps only ``error`` and ``enabled``: the other facts of an unreadable entry mean nothing."""
    trimmed = json.loads(json.dumps(facts))
    for section in ("pair", "cluster"):
        for name, sub in trimmed.get(section, {}).items():
            for key in NOT_COMPARED:
                sub.pop(key, None)
            theirs = other.get(section, {}).get(name, {})
            if sub.get("error") or theirs.get("error"):
                trimmed[section][name] = {
                    "error": "cannot read it" if sub.get("error") else None,
                    "enabled": sub.get("enabled", False),
                }
    return _flatten(trimmed)


def differences(mm2: dict[str, Any], drkit: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """field -> (MM2 says, drkit says) for every field on which the two disagree."""
    if mm2.get("error") or drkit.get("error"):
        # One side refuses the whole file: that is the difference (messages differ anyway).
        left = {"error": "refuses the whole file" if mm2.get("error") else None}
        right = {"error": "refuses the whole file" if drkit.get("error") else None}
    else:
        left, right = _trimmed(mm2, drkit), _trimmed(drkit, mm2)
    missing = object()
    diff = {}
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key, missing), right.get(key, missing)
        if a != b:
            diff[key] = (
                "<absent>" if a is missing else a,
                "<absent>" if b is missing else b,
            )
    return diff


def _render(name: str, diff: dict[str, tuple[Any, Any]], mm2: dict, drkit: dict) -> str:
    width = max(len(k) for k in diff)
    lines = [f"{name}: drkit's reading differs from MM2 4.2.0 on {len(diff)} field(s):",
             f"  {'field'.ljust(width)}  MM2 says  |  drkit says"]
    lines += [f"  {k.ljust(width)}  {a!r}  |  {b!r}" for k, (a, b) in diff.items()]
    for side, facts in (("MM2", mm2), ("drkit", drkit)):
        if facts.get("error"):
            lines.append(f"  {side} error: {facts['error']}")
        for section in ("pair", "cluster"):
            for name, sub in facts.get(section, {}).items():
                if sub.get("error"):
                    lines.append(f"  {side} error on {section} {name}: {sub['error']}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def mm2_classes(kafka_jars: KafkaJars, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("javac") is None and not Path("/usr/bin/javac").exists():
        pytest.skip("javac (JDK 17+) is needed to compile tests/mm2diff/Mm2Facts.java")
    return compile_harness(kafka_jars, tmp_path_factory.mktemp("mm2facts-classes"))


@pytest.fixture(scope="session")
def mm2_facts(kafka_jars: KafkaJars, mm2_classes: Path) -> dict[str, Any]:
    """MM2's facts for the whole corpus, from one JVM run."""
    return run_harness(kafka_jars, mm2_classes, CORPUS)


def _params() -> list[Any]:
    params = []
    for path in CORPUS:
        marks = []
        if path.name in PENDING_FIXES:
            marks.append(pytest.mark.xfail(strict=True, reason=PENDING_FIXES[path.name]))
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


@pytest.mark.parametrize("mm2_file", _params())
def test_drkit_reads_file_as_mm2_does(mm2_file: Path, mm2_facts: dict[str, Any]) -> None:
    mm2 = mm2_facts[mm2_file.name]
    drkit = drkit_side.drkit_facts(mm2_file)
    diff = differences(mm2, drkit)
    rows = [r for r in DELIBERATE if fnmatch.fnmatchcase(mm2_file.name, r[0])]
    unexplained = {k: v for k, v in diff.items()
                   if not any(fnmatch.fnmatchcase(k, r[1]) for r in rows)}
    assert not unexplained, _render(mm2_file.name, unexplained, mm2, drkit)
    stale = [r for r in rows if not any(fnmatch.fnmatchcase(k, r[1]) for k in diff)]
    assert not stale, f"DELIBERATE rows that match no difference any more: {stale}"


def test_corpus_is_large_and_documented() -> None:
    assert len(CORPUS) >= 40
    for path in CORPUS:
        first = path.read_bytes().split(b"\n", 1)[0]
        assert first.startswith(b"# Style: "), f"{path.name}: first line must be '# Style: ...'"
    for name in [*PENDING_FIXES, *(r[0] for r in DELIBERATE)]:
        assert any(fnmatch.fnmatchcase(p.name, name) for p in CORPUS), f"no corpus file {name}"


def test_sample_names_match_the_java_harness() -> None:
    java = (HERE / "Mm2Facts.java").read_text()

    def java_list(name: str) -> tuple[str, ...]:
        body = re.search(rf"{name} = List\.of\((.*?)\);", java, re.S)
        assert body, name
        return tuple(re.findall(r'"([^"]*)"', body.group(1)))

    assert java_list("SAMPLE_TOPICS") == drkit_side.SAMPLE_TOPICS
    assert java_list("SAMPLE_GROUPS") == drkit_side.SAMPLE_GROUPS
    assert f'SAMPLE_TOPIC = "{drkit_side.SAMPLE_TOPIC}"' in java


def test_harness_reports_invalid_files_as_error(
    kafka_jars: KafkaJars, mm2_classes: Path, tmp_path: Path
) -> None:
    """An invalid config gives {"error": ...} (not a stack trace), and drkit refuses it too."""
    bad = tmp_path / "no-clusters.properties"
    bad.write_text("# Style: hand-made: no clusters key\nA.bootstrap.servers = a:9092\n")
    facts = run_harness(kafka_jars, mm2_classes, [bad])["no-clusters.properties"]
    assert facts["error"].startswith("ConfigException"), facts
    assert drkit_side.drkit_facts(bad)["error"], "drkit must refuse a file without clusters"


def test_comparison_catches_a_misreading(mm2_facts: dict[str, Any]) -> None:
    """The diff is not vacuous: a one-field change in drkit's facts is reported."""
    path = CORPUS_DIR / "lab-primary-backup.properties"
    drkit = drkit_side.drkit_facts(path)
    assert differences(mm2_facts[path.name], drkit) == {}
    drkit["pair"]["primary->backup"]["topic_filter"]["orders.eu"] = False
    assert list(differences(mm2_facts[path.name], drkit)) == [
        "pair.primary->backup.topic_filter.orders.eu"
    ]
