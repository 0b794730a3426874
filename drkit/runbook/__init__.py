"""Runbooks: ordered, resumable steps that carry out a failover, failback or drill.

A runbook is a TOML file (``runbooks/<name>.toml``) whose steps read like GitHub Actions
(``uses`` + ``with``). Operators copy and edit the shipped ones, so the model is kept small and
every mistake in a file is reported with the file, the step and the field before anything runs.

* :mod:`~drkit.runbook.spec` — the pure model and loader (``Runbook``, ``StepSpec``, ``validate``,
  the ``when`` condition language, finding runbooks on disk)

The run journal, the engine that runs and resumes steps, and the built-in steps live beside it
(design: "Run state", "Runbooks").
"""
