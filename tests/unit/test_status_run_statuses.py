"""Every status drkit can show for a run is one the status JSON schema allows (CI found
``'rolled back' is not one of [...]``): the schema's enum is the code's list, and real journals
in every state, read by ``drkit status``'s collector, validate against the schema's run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from drkit.runbook.state import SHOWN_RUN_STATUSES, Journal, RunState
from drkit.status.collect import _runs
from drkit.status.evaluate import evaluate, remedy
from drkit.status.model import StatusFacts, Thresholds
from tests.helpers import offline_settings
from tests.unit.test_run_state import RUN_ID, make_run

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "drkit" / "status" /
                     "status.schema.json").read_text())


def test_the_schemas_run_statuses_are_the_codes() -> None:
    assert SCHEMA["$defs"]["run"]["properties"]["status"]["enum"] == list(SHOWN_RUN_STATUSES)


def _rollback(outcome: dict[str, Any]) -> Callable[[RunState], None]:
    def edit(run: RunState) -> None:
        run.status = "succeeded"
        run.rollbacks = [{"who": "ops@laptop", "at": "2026-11-25T21:00:00.000Z", **outcome}]
    return edit


def _set(status: str) -> Callable[[RunState], None]:
    def edit(run: RunState) -> None:
        run.status = status  # type: ignore[assignment]
    return edit


def _tamper(path: Path) -> None:
    data = json.loads(path.read_text())
    data["who"] = "mallory@elsewhere"
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("edit", "damage", "shown"), [
    (_set("succeeded"), None, "succeeded"),
    (_set("failed"), None, "failed"),
    (_set("aborted"), None, "aborted"),
    (_set("running"), None, "interrupted"),  # no process holds its lock
    (_rollback({}), None, "rolled back"),
    (_rollback({"failed": ["g1"]}), None, "rollback incomplete"),
    (_rollback({"refused": "changed since"}), None, "rollback incomplete"),
    (_set("failed"), _tamper, "tampered"),
    (_set("failed"), lambda p: p.write_text("{not json"), "damaged"),
])
def test_every_run_drkit_status_shows_validates_against_the_schema(
        tmp_path: Path, edit: Callable[[RunState], None],
        damage: Callable[[Path], None] | None, shown: str) -> None:
    settings = offline_settings(tmp_path)
    journal = Journal(settings.state_dir)
    run = make_run()
    edit(run)
    journal.save(run)
    if damage is not None:
        damage(journal.path(RUN_ID))
    (facts,) = _runs(settings)
    assert facts.status == shown
    jsonschema.validate(asdict(facts), {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/run"},
                        cls=jsonschema.Draft202012Validator)
    checks = evaluate(StatusFacts("2026-11-25T21:00:00Z", 0.0, [], [], runs=[facts]),
                      Thresholds())
    if shown in ("succeeded", "rolled back"):
        assert checks == []
    else:
        (check,) = checks
        assert f"is {shown}" in check.message
        # only a run that can be resumed is told to resume
        assert ("--resume" in remedy(check)) == (shown in ("failed", "interrupted"))
