"""Failpoints: let the crash tests SIGKILL drkit at exact places (``DRKIT_FAILPOINT``).

A real, unclean death: no ``finally`` runs, no journal write follows. Names in use:
``before:<step>``, ``after:<step>``, ``commit-batch:<n>``, ``commit-unsaved:<n>``,
``dns-changed``. Unset in production, where this is one environment lookup.
"""

from __future__ import annotations

import os
import signal
import sys


def failpoint(name: str) -> None:
    wanted = os.environ.get("DRKIT_FAILPOINT", "")
    if wanted and name in {w.strip() for w in wanted.split(",")}:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
