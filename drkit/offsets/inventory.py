"""The source cluster's groups and commits, saved in the state dir while the source answers.

A later failover with the source gone reads it back, so the plan can still say which groups have
no checkpoint and why. Written like every state file (:mod:`drkit.statedir`): atomic, 0600.
Holds names and numbers only, no secrets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from drkit.config import Settings
from drkit.errors import DrkitError
from drkit.kafka.groups import SourceGroup
from drkit.mm2.model import TopicPartition
from drkit.statedir import atomic_write, check_state_dir, ensure_dir, read_bytes


def inventory_path(settings: Settings, source: str) -> Path:
    return settings.state_dir / "inventory" / f"{source}.json"


def save_inventory(settings: Settings, source: str, groups: Mapping[str, SourceGroup],
                   now_ms: int) -> None:
    """Atomically write the source's groups and commits (no secrets: names and numbers only)."""
    path = inventory_path(settings, source)
    ensure_dir(settings.state_dir)
    ensure_dir(path.parent)
    data = {"source": source, "captured_ms": now_ms,
            "groups": {g: {f"{tp.topic}\t{tp.partition}": off for tp, off in sg.committed.items()}
                       for g, sg in groups.items()}}
    atomic_write(path, json.dumps(data).encode())


def load_inventory(settings: Settings, source: str, now_ms: int
                   ) -> tuple[dict[str, SourceGroup], float] | None:
    """The saved groups and the inventory's age in seconds; None if there is none."""
    path = inventory_path(settings, source)
    check_state_dir(settings.state_dir, writable=False)  # StateDirError: never read a planted one
    try:
        data = json.loads(read_bytes(path))
        groups = {}
        for g, offs in data["groups"].items():
            committed = {}
            for key, off in offs.items():
                topic, part = key.rsplit("\t", 1)
                committed[TopicPartition(topic, int(part))] = int(off)
            groups[g] = SourceGroup(g, committed)
        return groups, max(0.0, (now_ms - int(data["captured_ms"])) / 1000)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DrkitError(f"{path}: damaged group inventory ({exc}); delete it, it is rebuilt "
                         "the next time the source cluster answers") from exc
