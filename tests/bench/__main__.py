"""`python -m tests.bench [NAME ...]`: run benchmarks, print a table, write bench-results/."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

from tabulate import tabulate

ALL = ["lab", "scan", "commit", "status", "drill"]


def main(argv: list[str]) -> int:
    names = argv or ALL
    out_dir = Path("bench-results")
    out_dir.mkdir(exist_ok=True)
    for name in names:
        if name not in ALL:
            print(f"unknown benchmark {name!r}; choose from {', '.join(ALL)}", file=sys.stderr)
            return 2
        module = importlib.import_module(f"tests.bench.bench_{name}")
        started = time.time()
        rows: list[dict[str, object]] = module.run()
        print(f"\n== {name} ==")
        print(tabulate([[r["metric"], r["value"], r.get("unit", ""), r.get("target", ""),
                         r.get("note", "")] for r in rows],
                       headers=["metric", "value", "unit", "target", "note"]))
        result = {"benchmark": name, "started": started, "machine": platform.platform(),
                  "cpus": __import__("os").cpu_count(), "rows": rows}
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
