"""Built-in runbook steps, by the name a runbook's ``uses`` gives them."""

from __future__ import annotations

from collections.abc import Mapping

from drkit.runbook.engine import Step
from drkit.runbook.spec import StepSchema
from drkit.runbook.steps.approve import ApproveStep
from drkit.runbook.steps.commit import CommitStep
from drkit.runbook.steps.dns import DnsFlipStep
from drkit.runbook.steps.drill import DRILL_STEPS
from drkit.runbook.steps.exec import ExecStep
from drkit.runbook.steps.neutralise import NeutraliseMM2Step
from drkit.runbook.steps.preflight import PreflightStep
from drkit.runbook.steps.translate import TranslateStep
from drkit.runbook.steps.verify import VerifyStep

BUILTIN: Mapping[str, Step] = {
    s.schema.uses: s
    for s in (PreflightStep(), NeutraliseMM2Step(), TranslateStep(), ApproveStep(),
              CommitStep(), DnsFlipStep(), VerifyStep(), ExecStep(), *DRILL_STEPS)
}


def schemas() -> dict[str, StepSchema]:
    return {name: step.schema for name, step in BUILTIN.items()}
