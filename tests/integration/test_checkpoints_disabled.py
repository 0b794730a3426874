"""Issue 18 item 5: with ``emit.checkpoints.enabled = false`` (or ``emit.offset-syncs.enabled =
false``) on the flow, MM2 writes no checkpoints; plan, status and the failover's preflight name
the setting and its line instead of planning from stale checkpoints without a word.

drkit reads a copy of the shared lab's mm2.properties with the setting added (the lab's MM2 keeps
running with its own file: the checkpoints on the topic are exactly the "stale" ones).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drkit.lab.lab import Lab
from tests.helpers import drkit


@pytest.mark.parametrize("key", ["emit.checkpoints.enabled", "emit.offset-syncs.enabled"])
def test_plan_status_and_preflight_name_the_setting(lab: Lab, tmp_path: Path, key: str) -> None:
    text = lab.mm2_config_path.read_text()
    mm2 = tmp_path / "mm2.properties"
    mm2.write_text(text + f"primary->backup.{key} = false\n")
    line = len(text.splitlines()) + 1
    where = f"{mm2}:{line}"
    toml = tmp_path / "drkit.toml"
    toml.write_text(f'mm2_config = "{mm2}"\nstate_dir = "{tmp_path / "state"}"\n')

    plan = drkit("plan", "--from", "primary", "--to", "backup", "-o", "json", config=toml)
    assert plan.returncode in (0, 3), plan.stderr
    notes = json.loads(plan.stdout)["inputs"]["notes"]
    assert any(f"{key} = false" in n and where in n for n in notes), notes
    table = drkit("plan", "--from", "primary", "--to", "backup", config=toml)
    assert f"{key} = false" in table.stdout.replace("\n", " ")

    status = drkit("status", "--flow", "primary->backup", "-o", "json", config=toml)
    doc = json.loads(status.stdout)
    assert status.returncode == 3 and doc["status"] == "UNKNOWN"
    assert f"{key} = false" in doc["flows"][0]["groups_error"]
    assert where in doc["flows"][0]["groups_error"]

    failover = drkit("failover", "--from", "primary", "--to", "backup", "--yes", config=toml)
    assert failover.returncode == 3, failover.stderr
    assert f"{key} = false at {where}" in failover.stderr
    assert "Traceback" not in failover.stderr
