"""DR drills: a rehearsed failover into shadow groups on the standby (issue 10).

``report`` is the drill's result model (pure, JSON round-trip), ``history`` keeps every report
under ``state_dir/drills/``, ``render`` shows a report as a table, JSON, Markdown, JUnit XML or
a Prometheus textfile. The engine side (content matching, windows, the drill runbook's steps)
lives beside them.
"""
