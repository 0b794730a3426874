"""The plan options, listed once: their names, defaults, and how they become plan inputs.

``drkit plan`` and ``drkit failover`` build their click options from :data:`PLAN_ARGS` (the CLI
layer adds only the flag spelling, type and help), ``drkit failover`` journals exactly these keys
as the run's ``args``, and the runbook's translate step reads them back with
:func:`options_from_args`. A new option is one more :class:`PlanArg` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drkit import clock
from drkit.offsets.inputs import PlanOptions
from drkit.offsets.plan import SafetyThresholds


@dataclass(frozen=True)
class PlanArg:
    """One plan option: its ``args`` key (the click parameter name) and default."""

    key: str
    default: Any = None


PLAN_ARGS: tuple[PlanArg, ...] = (
    PlanArg("group_regex"),
    PlanArg("topic_regex"),
    PlanArg("allow_rewind", False),
    PlanArg("untranslated", "skip"),
    PlanArg("max_clamped", 0),
    PlanArg("max_untranslated"),
    PlanArg("max_checkpoint_age"),
    PlanArg("max_heartbeat_age"),
    PlanArg("min_groups", 0),
    PlanArg("timeout", 60.0),
    PlanArg("strict", False),
)
PLAN_ARG_KEYS: tuple[str, ...] = tuple(a.key for a in PLAN_ARGS)
DEFAULTS: Mapping[str, Any] = {a.key: a.default for a in PLAN_ARGS}


def now_ms() -> int:
    return clock.now_ms()  # DRKIT_NOW_MS moves it forward in tests (drkit/clock.py)


def plan_args(values: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the plan options out of ``values`` (e.g. click's keyword arguments): a run's
    journaled ``args``."""
    return {key: values.get(key, DEFAULTS[key]) for key in PLAN_ARG_KEYS}


def options_from_args(args: Mapping[str, Any]) -> tuple[PlanOptions, SafetyThresholds]:
    """Plan options and safety thresholds from CLI options or a run journal's args."""
    a = {**DEFAULTS, **{k: v for k, v in args.items() if k in DEFAULTS}}
    options = PlanOptions(group_regex=a["group_regex"], topic_regex=a["topic_regex"],
                          allow_rewind=bool(a["allow_rewind"]),
                          untranslated=a["untranslated"], now_ms=now_ms(),
                          strict=bool(a["strict"]))
    thresholds = SafetyThresholds(
        max_clamped_partitions=int(a["max_clamped"] or 0),
        max_untranslated_fraction=a["max_untranslated"],
        max_checkpoint_age_s=a["max_checkpoint_age"],
        min_groups=int(a["min_groups"] or 0))
    return options, thresholds
