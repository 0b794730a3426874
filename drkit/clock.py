"""drkit's notion of "now" for ages (checkpoint, heartbeat, outage), with a test-only override.

``DRKIT_NOW_MS`` (milliseconds since the epoch) lets the integration tests replay a real outage's
timeline: MM2 checkpoints, the primary dies, and the failover is decided an hour later. The lab
cannot age MM2's records (MM2 stamps them itself), so the tests move drkit's clock instead.

It is for tests only, and it cannot make a run less safe: it may only move the clock *forward*
(a value behind the real clock is refused, exit 2), and a later "now" only makes every
checkpoint and heartbeat look older — stricter, never laxer. Only ages are computed from it;
journal and audit timestamps, locks, MM2 liveness (neutralise-mm2) and timeouts keep the real
clock. :func:`override_note` says on every run that the clock was moved.
"""

from __future__ import annotations

import os
import time

from drkit.errors import ConfigError

ENV = "DRKIT_NOW_MS"
_SLACK_MS = 5_000  # a value computed a moment before the process started is still "forward"


def now_ms() -> int:
    """Milliseconds since the epoch: the real clock, or ``DRKIT_NOW_MS`` if set (tests)."""
    real = int(time.time() * 1000)
    raw = os.environ.get(ENV)
    if not raw:
        return real
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{ENV}={raw[:40]!r} is not a whole number of milliseconds since the "
                          f"epoch; unset {ENV} (it is for tests only)") from None
    if value < real - _SLACK_MS:
        raise ConfigError(f"{ENV} is {(real - value) / 1000:.0f} s behind the real clock; it may "
                          f"only move drkit's clock forward (tests only): unset {ENV}")
    return value


def now_s() -> float:
    return now_ms() / 1000


def override_note() -> str | None:
    """One warning line when the clock is moved (``DRKIT_NOW_MS``), else None."""
    if not os.environ.get(ENV):
        return None
    ahead = (now_ms() - time.time() * 1000) / 1000
    return (f"warning: {ENV} is set: drkit's clock for ages is {ahead:.0f} s ahead of the real "
            "clock (test only)")
