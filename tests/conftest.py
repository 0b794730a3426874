"""Fixtures built on the same lab code users run: one shared lab, and private labs on demand.

Integration tests need Java and Maven (jars are cached under $DRKIT_CACHE or ~/.cache/drkit);
every lab is stopped by its fixture, so nothing is left running when the session ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drkit.lab import bind
from drkit.lab.files import MM2Options
from drkit.lab.jars import KafkaJars, ensure_jars
from drkit.lab.lab import Lab

LabFactory = Callable[..., Lab]


@pytest.fixture(scope="session")
def kafka_jars() -> KafkaJars:
    return ensure_jars()


def _start(path: Path, jars: KafkaJars, mm2: bool = True, dns: bool | None = None,
           **mm2_opts: object) -> Lab:
    opts = MM2Options(**mm2_opts)  # type: ignore[arg-type]
    lab = Lab.create(path, jars, opts, bind.available() if dns is None else dns)
    lab.up(with_mm2=mm2)
    return lab


@pytest.fixture(scope="session")
def lab(kafka_jars: KafkaJars, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The shared lab: primary->backup, MM2 defaults. Tests must not break it."""
    the_lab = _start(tmp_path_factory.mktemp("lab"), kafka_jars)
    os.environ["DRKIT_TEST_LAB"] = str(the_lab.dir)
    try:
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture
def make_lab(kafka_jars: KafkaJars, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[LabFactory]:
    """A private lab for a test that kills or reconfigures things; stopped after the test."""
    labs: list[Lab] = []

    def factory(**kwargs: object) -> Lab:
        the_lab = _start(tmp_path_factory.mktemp("private-lab"), kafka_jars, **kwargs)  # type: ignore[arg-type]
        labs.append(the_lab)
        return the_lab

    try:
        yield factory
    finally:
        for the_lab in labs:
            the_lab.down()


@pytest.fixture(scope="module")
def own_lab(kafka_jars: KafkaJars, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A private lab for one module's tests, stopped after them: for tests that write what MM2
    itself reads back onto its internal topics (malformed records, tombstones). A tombstone on
    ``primary.checkpoints.internal`` makes MM2's checkpoint task fail to load that topic on its
    next start, and then it emits no checkpoint for data mirrored before: never on the shared
    lab."""
    the_lab = _start(tmp_path_factory.mktemp("own-lab"), kafka_jars)
    try:
        yield the_lab
    finally:
        the_lab.down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
