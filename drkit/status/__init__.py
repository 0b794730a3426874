"""``drkit status``: the on-call check (collect facts, evaluate thresholds, render)."""
