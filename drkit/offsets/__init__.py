"""The offsets core: where each consumer group resumes on the standby, and committing it there.

* :mod:`~drkit.offsets.plan` — the plan model (:class:`OffsetPlan` …) with its safety thresholds;
  pure.
* :mod:`~drkit.offsets.inputs` — what every planner is given (:class:`FlowView`,
  :class:`PlanOptions`, :class:`PlanInputs`); pure.
* :mod:`~drkit.offsets.options` — the plan options, listed once for CLI, journal and runbook.
* :mod:`~drkit.offsets.checkpoint_planner` — the MM2-checkpoint planner strategy; pure.
* :mod:`~drkit.offsets.gather` — reads a planner's inputs from the clusters (I/O).
* :mod:`~drkit.offsets.inventory` — the source group inventory saved in the state dir.
* :mod:`~drkit.offsets.apply` — commits a plan on the standby (I/O).
* :mod:`~drkit.offsets.render` — the plan as a table or JSON.

Planners to come sit beside ``checkpoint_planner`` as their own strategy modules, each pure and
each returning an :class:`~drkit.offsets.plan.OffsetPlan`: drill shadow positions
(``shadow_planner``), exact content match for a planned switchover (``exact_planner``,
interpolating between offset-syncs where no exact match exists) and reverse translation for
failback (``reverse_planner``). See ``docs/architecture.md``.
"""
