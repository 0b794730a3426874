"""Developer tasks. `nox -s tests` is the suite CI runs; `nox -s demo` is the newcomer's demo."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = False


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and integration tests (integration tests start real Kafka, MM2 and BIND labs)."""
    session.install("-e", ".[test]")
    session.run("drkit", "lab", "fetch")  # resolve the Kafka jars once, with a clear error
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session
def unit(session: nox.Session) -> None:
    """Only the tests that need no server."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "drkit", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]", "mypy", "types-tabulate")
    session.run("mypy", "drkit")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: print a table and write bench-results/*.json (see docs/benchmarks.md)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "tests.bench", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Start a lab, replicate, show MM2's checkpoints, stop the lab."""
    session.install("-e", ".")
    session.run("drkit", "lab", "demo", *session.posargs)
