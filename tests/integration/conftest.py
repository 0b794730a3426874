"""A private BIND 9 per test, built by the same lab code users run (drkit.lab.bind).

Function-scoped on purpose: named keeps applied updates in its journal, so a server shared
between tests would leak one test's flips into the next.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.errors import LabError
from drkit.lab import bind, procs
from drkit.lab.lab import free_port


def _start(base: Path) -> tuple[dict[str, Any], procs.ProcessRecord]:
    """Prepare and start named; raises LabError (with its log tail) if it does not come up."""
    cfg = bind.prepare(base / "dns", free_port())
    bind.check_config(cfg)
    log = base / "named.log"
    rec = procs.spawn(bind.argv(cfg), log, base)

    def alive() -> None:
        if not procs.is_running(rec):
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise LabError(f"named exited during start-up ({log}): {' | '.join(tail)}")

    try:
        bind.wait_ready(cfg, 30.0, alive)
    except BaseException:
        procs.stop(rec, 10.0)
        raise
    return cfg, rec


@pytest.fixture
def bind_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A running named on a free loopback port: ``drkit.lab.bind.prepare``'s dict.

    Skips when ``named`` is not installed, unless ``DRKIT_REQUIRE_BIND=1`` (CI) makes that a
    failure. A start that loses the free port to another process is retried on a new port.
    """
    if not bind.available():
        if os.environ.get("DRKIT_REQUIRE_BIND") == "1":
            pytest.fail("DRKIT_REQUIRE_BIND=1 but BIND's 'named' is not installed "
                        "(apt-get install bind9)", pytrace=False)
        pytest.skip("BIND's 'named' is not installed (apt-get install bind9); "
                    "set DRKIT_REQUIRE_BIND=1 to fail instead of skipping")
    error: LabError | None = None
    for attempt in range(3):
        try:
            cfg, rec = _start(tmp_path / f"named-{attempt}")
        except LabError as exc:
            error = exc
            continue
        try:
            yield cfg
        finally:
            procs.stop(rec, 10.0)
        return
    pytest.fail(f"BIND did not start after 3 attempts: {error}", pytrace=False)
