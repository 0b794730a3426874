"""Issue 18 item 5 wiring: plan and status name emit.checkpoints/emit.offset-syncs = false
(file:line) and show the configuration's notes; status checks the usable flows only."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.commands.status import _flows
from drkit.config import load_settings
from drkit.errors import ConfigError
from drkit.offsets.gather import config_notes
from drkit.offsets.inputs import PlanInputs

MM2 = """clusters = primary, backup, staging
primary.bootstrap.servers = p:9092
backup.bootstrap.servers = b:9092
staging.bootstrap.servers = s:9092
primary->backup.enabled = true
primary->backup.emit.offset-syncs.enabled = false
backup->primary.enabled = true
primary->staging.enabled = true
primary->staging.groups = [a-z&&[^x]]+
groups.blacklist = test.*
"""


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "mm2.properties"
    path.write_text(MM2)
    return load_settings(None, mm2_config=path, environ={}, cwd=tmp_path)


def test_plan_notes_name_the_disabled_setting_and_its_line(settings) -> None:  # type: ignore[no-untyped-def]
    notes = config_notes(settings, settings.flow("primary", "backup"))
    assert any("emit.offset-syncs.enabled = false" in n and "mm2.properties:6" in n
               for n in notes), notes
    # another flow's problem is a warning here, not a failure
    assert any(n.startswith("warning: flow primary->staging") for n in notes), notes
    assert any("groups.blacklist" in n for n in notes), notes
    inputs = PlanInputs("t", 0, 0.0, True, None, None, "", notes=tuple(notes))
    assert inputs.to_dict()["notes"] == notes
    # a flow whose checkpoints are on gets no such note
    assert not any("emit.offset-syncs" in n for n in config_notes(
        settings, settings.flow("backup", "primary")))


def test_status_checks_usable_flows_and_a_named_broken_one_fails(settings) -> None:  # type: ignore[no-untyped-def]
    names = [f.name for f in _flows(settings, None)]
    assert names == ["backup->primary", "primary->backup"]
    with pytest.raises(ConfigError, match=r"primary->staging.groups: regex .* Java-only"):
        _flows(settings, "primary->staging")
