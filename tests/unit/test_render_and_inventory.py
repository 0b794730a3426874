"""Rendering fits 100 columns; the source group inventory round-trips and fails clearly."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from drkit.errors import DrkitError
from drkit.kafka.groups import SourceGroup, TargetGroup
from drkit.mm2.model import Checkpoint, StampedCheckpoint, TopicPartition
from drkit.offsets.checkpoint_planner import build_plan
from drkit.offsets.inputs import PlanInputs, PlanOptions
from drkit.offsets.inventory import inventory_path, load_inventory, save_inventory
from drkit.offsets.render import plan_table
from tests.helpers import offline_settings


class Naming:
    def to_target_topic(self, source_topic: str) -> str:
        return f"primary.{source_topic}"

    def group_exclusion_reason(self, group: str) -> str | None:
        return "matches MM2 groups.exclude pattern 'connect-.*'" if group.startswith(
            "connect-") else None

    def topic_included(self, source_topic: str) -> bool:
        return True


def _plan():  # type: ignore[no-untyped-def]
    long_group = "a-consumer-group-with-a-really-long-name-that-would-break-tables" * 2
    tp = TopicPartition("primary.orders-with-a-long-topic-name-for-wrapping", 0)
    cps = {long_group: {tp: StampedCheckpoint(Checkpoint(long_group, tp.topic, 0, 500, 450, ""),
                                              1_000, 7)}}
    return build_plan(
        "primary", "backup", cps, {"busy": TargetGroup("busy", "Stable", 2, {})},
        {tp: (0, 1000)}, Naming(), PlanOptions(now_ms=61_000),
        source_groups={"connect-sink-with-a-long-name-too": SourceGroup(
            "connect-sink-with-a-long-name-too", {TopicPartition("orders", 0): 5})},
    )


def test_plan_table_fits_100_columns_with_long_names() -> None:
    inputs = PlanInputs("primary.checkpoints.internal", 1, 0.01, False,
                        "x" * 300, 12.0, "unavailable: " + "y" * 300)
    text = plan_table(_plan(), inputs, detail=True)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "connect-sink-with-a-long-name-too: no checkpoint" in text
    assert "60 s" in text  # checkpoint age with its unit


def test_inventory_round_trip_is_private(tmp_path: Path) -> None:
    settings = offline_settings(tmp_path)
    groups = {"g": SourceGroup("g", {TopicPartition("orders.x", 2): 17}),
              "never": SourceGroup("never", {})}
    save_inventory(settings, "primary", groups, now_ms=10_000)
    path = inventory_path(settings, "primary")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    loaded, age_s = load_inventory(settings, "primary", now_ms=40_000)  # type: ignore[misc]
    assert loaded == groups and age_s == 30.0


def test_damaged_inventory_is_a_clear_error(tmp_path: Path) -> None:
    settings = offline_settings(tmp_path)
    path = inventory_path(settings, "primary")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"source": "primary"})[:-3])
    with pytest.raises(DrkitError, match=r"inventory/primary.json: damaged group inventory"):
        load_inventory(settings, "primary", now_ms=0)
    assert load_inventory(settings, "backup", now_ms=0) is None


def test_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from drkit.commands import common

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Tty()
    monkeypatch.setattr(common.sys, "stderr", fake)
    progress = common.TtyProgress("reading checkpoints")
    progress(500, 1000)
    progress(1000, 1000)
    assert "50% (500/1,000 records)" in fake.getvalue()
    assert fake.getvalue().endswith("100% (1,000/1,000 records)\n")
    monkeypatch.setattr(common.sys, "stderr", io.StringIO())
    quiet = common.TtyProgress("x")
    quiet(1, 2)
    assert not quiet.enabled
