"""An ``exec`` step's command gets a minimal environment: never drkit's credentials, only what the
runbook names (``env`` sets values, ``pass_env`` passes drkit's own by name)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drkit.errors import ConfigError
from drkit.runbook.engine import RunContext, run_steps
from drkit.runbook.session import Session
from drkit.runbook.spec import load_runbook, packaged_runbook_dir, parse_runbook, validate
from drkit.runbook.steps import BUILTIN, schemas
from drkit.runbook.steps.exec import BASE_ENV
from tests.helpers import offline_settings

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY123456",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-secret-access-key",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEBY-session-token",
    "SOME_PASSWORD": "hunter2-but-longer",
    "KAFKA_SASL_PASSWORD": "sasl-secret-value",
    "AWS_PROFILE": "dr-operator",
}
RUN_VARS = {"DRKIT_RUN_ID", "DRKIT_RUN_KIND", "DRKIT_SOURCE", "DRKIT_TARGET", "DRKIT_STEP_ID",
            "DRKIT_STATE_DIR", "DRKIT_CONFIG"}


@pytest.fixture(autouse=True)
def drkits_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")


def _run_env_step(tmp_path: Path, with_: str) -> dict[str, str]:
    """Run one exec step that dumps its environment (env -0); return what the command saw."""
    text = (f'name = "t"\n[[steps]]\nid = "dump"\nuses = "exec"\n'
            f'with = {{ command = ["env", "-0"]{with_} }}\n')
    settings = offline_settings(tmp_path)
    book = validate(parse_runbook(text.encode(), tmp_path / "rb.toml"), schemas())
    session = Session.open(settings, lambda _m: None)
    run = session.new_run("failover", book, "primary", "backup", {"planned": False})
    session.journal.create(run)
    ctx = RunContext(settings, run, book, session.journal, session.audit, lambda _m: None)
    done = run_steps(ctx, BUILTIN)
    assert done.status == "succeeded"
    out: str = done.steps[0].outputs["stdout"]
    return dict(item.split("=", 1) for item in out.split("\0") if item)


def _base() -> set[str]:
    return {k for k in BASE_ENV if k in os.environ} | {"PATH"}


def test_exec_never_sees_drkits_credentials(tmp_path: Path) -> None:
    seen = _run_env_step(tmp_path, "")
    assert set(seen) == _base() | RUN_VARS
    for name, value in SECRETS.items():
        assert name not in seen
        assert all(value not in v for v in seen.values())
    assert seen["PATH"] == os.environ["PATH"] and seen["LANG"] == "C.UTF-8"
    assert seen["DRKIT_SOURCE"] == "primary" and seen["DRKIT_STEP_ID"] == "dump"


def test_pass_env_passes_exactly_the_named_variable(tmp_path: Path) -> None:
    seen = _run_env_step(tmp_path, ', pass_env = ["AWS_PROFILE", "NOT_SET_ANYWHERE"]')
    assert set(seen) == _base() | RUN_VARS | {"AWS_PROFILE"}
    assert seen["AWS_PROFILE"] == "dr-operator"


def test_env_table_sets_values_but_not_the_run_variables(tmp_path: Path) -> None:
    seen = _run_env_step(tmp_path, ', env = { FENCE_MODE = "acl", RETRIES = 3, '
                                   'DRKIT_SOURCE = "forged" }')
    assert set(seen) == _base() | RUN_VARS | {"FENCE_MODE", "RETRIES"}
    assert (seen["FENCE_MODE"], seen["RETRIES"], seen["DRKIT_SOURCE"]) == ("acl", "3", "primary")


def test_without_path_in_drkits_environment_the_default_path_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.defpath)  # `env` must still be found
    monkeypatch.delenv("HOME", raising=False)
    seen = _run_env_step(tmp_path, "")
    assert seen["PATH"] == os.defpath and "HOME" not in seen


@pytest.mark.parametrize(("with_", "error"), [
    ('pass_env = ["AWS-PROFILE"]', "'AWS-PROFILE' is not an environment variable name"),
    ('pass_env = ["1ST"]', "'1ST' is not an environment variable name"),
    ('pass_env = "AWS_PROFILE"', "expected an array of strings"),
    ('env = { "A=B" = "x" }', "'A=B' is not an environment variable name"),
    ('env = { A = { b = 1 } }', "A: expected a string"),
    ('env = { A = "x\\u0000y" }', "A: expected a string"),
])
def test_bad_names_are_refused_when_the_runbook_is_loaded(tmp_path: Path, with_: str,
                                                          error: str) -> None:
    text = (f'name = "t"\n[[steps]]\nid = "x"\nuses = "exec"\n[steps.with]\n'
            f'command = ["true"]\n{with_}\n')
    with pytest.raises(ConfigError) as err:
        validate(parse_runbook(text.encode(), tmp_path / "rb.toml"), schemas())
    assert error in str(err.value) and 'step "x"' in str(err.value)


def test_shipped_runbooks_still_validate() -> None:
    for path in sorted(packaged_runbook_dir().glob("*.toml")):
        validate(load_runbook(path), schemas())
