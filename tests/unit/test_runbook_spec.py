"""Runbook model and loader: shipped runbooks, every file mistake, conditions, lookup, digest.

The schemas below mirror the built-in steps' ``with`` fields so these tests need nothing but the
spec module: a shipped runbook that uses a field no step accepts fails here first.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from drkit.errors import ConfigError
from drkit.runbook.spec import (
    Clause,
    FieldSpec,
    Runbook,
    StepSchema,
    available_runbooks,
    find_runbook,
    load_runbook,
    packaged_runbook_dir,
    parse_condition,
    parse_duration,
    parse_runbook,
    validate,
)

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
FILE = Path("runbooks/x.toml")
SCHEMAS = {
    s.uses: s
    for s in (
        StepSchema("preflight", {"max_heartbeat_age": FieldSpec("duration"),
                                 "max_checkpoint_age": FieldSpec("duration"),
                                 "strict": FieldSpec("bool", default=False)}),
        StepSchema("neutralise-mm2", {"alive_within": FieldSpec("duration")}),
        StepSchema("approve", {"message": FieldSpec("str")}),
        StepSchema("translate"),
        StepSchema("commit", {"batch": FieldSpec("int")}),
        StepSchema("dns-flip"),
        StepSchema("verify", {"settle": FieldSpec("duration", choices=("auto",))}),
        StepSchema("exec", {"command": FieldSpec("list[str]", required=True),
                            "timeout": FieldSpec("duration"), "env": FieldSpec("table")}),
    )
}
# The drill runbook's steps (take no `with` fields).
WITH_DRILL = SCHEMAS | {uses: StepSchema(uses) for uses in (
    "shadow-commit", "dns-check", "verify-content", "measure", "cleanup", "drill-report")}
CONTEXT_NAMES = ("planned", "args", "kind", "source", "target", "dns")


def parse(text: str) -> Runbook:
    return parse_runbook(text.encode(), FILE)


def error(text: str, *, check: bool = True) -> str:
    """The message of the ConfigError that loading (and validating) ``text`` raises."""
    with pytest.raises(ConfigError) as info:
        runbook = parse(text)
        if check:
            validate(runbook, SCHEMAS)
    return str(info.value)


def step(body: str, name: str = "x") -> str:
    return f'name = "{name}"\n[[steps]]\n{body}\n'


# ── shipped runbooks ────────────────────────────────────────────────────────────────────────────


def test_packaged_dir_is_the_repo_runbooks_directory() -> None:
    assert packaged_runbook_dir().resolve() == REPO_RUNBOOKS.resolve()
    assert set(available_runbooks([packaged_runbook_dir()])) >= {"failover", "failback", "drill"}


@pytest.mark.parametrize("name", ["failover", "failback", "drill"])
def test_shipped_runbooks_load_and_validate(name: str) -> None:
    path = find_runbook(name, [packaged_runbook_dir()])
    runbook = validate(load_runbook(path), WITH_DRILL, known_names=CONTEXT_NAMES)
    assert runbook.name == name
    assert runbook.description
    assert runbook.placeholder is (name == "failback")
    assert runbook.steps[0].uses == "preflight"
    assert re.fullmatch(r"[0-9a-f]{64}", runbook.digest)


def test_failover_order_and_normalised_fields() -> None:
    runbook = validate(load_runbook(REPO_RUNBOOKS / "failover.toml"), SCHEMAS)
    assert [s.uses for s in runbook.steps] == [
        "preflight", "neutralise-mm2", "translate", "approve", "commit", "dns-flip", "verify"
    ]
    preflight = runbook.steps[0]
    assert preflight.with_ == {"max_heartbeat_age": 30.0, "max_checkpoint_age": 300.0,
                               "strict": False}
    assert preflight.timeout_s == 120.0
    assert all(s.on_failure == "abort" and s.when is None for s in runbook.steps)


def test_placeholders_say_so_in_the_file() -> None:
    for name in ("failback",):
        text = (REPO_RUNBOOKS / f"{name}.toml").read_text()
        assert "PLACEHOLDER" in text
        assert f"{name} issue" in text


def test_commented_examples_in_failover_are_valid_when_uncommented() -> None:
    """Operators uncomment these blocks; they must load as they stand."""
    lines, out, inside = (REPO_RUNBOOKS / "failover.toml").read_text().splitlines(), [], False
    for line in lines:
        inside = line == "# [[steps]]" or (inside and line.startswith("# "))
        out.append(line[2:] if inside else line)
    runbook = validate(parse("\n".join(out)), SCHEMAS, known_names=CONTEXT_NAMES)
    by_id = {s.id: s for s in runbook.steps}
    fence, stop = by_id["fence-producers"], by_id["stop-mm2-checkpoints"]
    assert fence.when == "planned" and fence.uses == stop.uses == "exec"
    assert fence.with_["env"] == {"FENCE_MODE": "acl"}
    assert stop.with_["command"][:2] == ["curl", "-fsS"]
    assert runbook.step_ids.index("stop-mm2-checkpoints") < runbook.step_ids.index("neutralise-mm2")


# ── structure errors ────────────────────────────────────────────────────────────────────────────


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n\n[[steps]]\nid = "a"\nuses = preflight\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:5: invalid TOML"):
        load_runbook(path)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read runbook .*missing\.toml"):
        load_runbook(tmp_path / "missing.toml")
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin\.toml: not UTF-8"):
        load_runbook(path)


@pytest.mark.parametrize(("text", "expected"), [
    ('[[steps]]\nid = "a"\nuses = "translate"\n', 'runbooks/x.toml: missing required key "name"'),
    ('name = ""\n[[steps]]\nid = "a"\nuses = "translate"\n', '"name" must not be empty'),
    ('name = 3\n[[steps]]\nid = "a"\nuses = "translate"\n',
     '"name" must be a string, got number 3'),
    ('name = "x"\n', "runbooks/x.toml: no steps; add at least one [[steps]]"),
    ('name = "x"\nsteps = []\n', "runbooks/x.toml: no steps"),
    ('name = "x"\nsteps = [1]\n', "runbooks/x.toml: step #1: must be a table"),
    ('name = "x"\nstpes = 1\n', 'unknown top-level key "stpes" (did you mean "steps"?); allowed: '
                               "description, name, placeholder, steps"),
    ('name = "x"\ndescription = ["a"]\n[[steps]]\nid = "a"\nuses = "translate"\n',
     'runbooks/x.toml: key "description" must be a string, got an array'),
    ('name = "x"\nplaceholder = "yes"\n[[steps]]\nid = "a"\nuses = "translate"\n',
     'key "placeholder" must be true or false, got string "yes"'),
])
def test_top_level_errors(text: str, expected: str) -> None:
    assert expected in error(text)


def test_top_level_defaults() -> None:
    runbook = parse(step('id = "a"\nuses = "translate"'))
    assert (runbook.description, runbook.placeholder, runbook.path) == ("", False, FILE)
    only = runbook.steps[0]
    assert (only.with_, only.when, only.timeout_s, only.retries, only.on_failure) == (
        {}, None, None, 0, "abort")


@pytest.mark.parametrize(("body", "expected"), [
    ('uses = "translate"', 'runbooks/x.toml: step #1: missing required field "id"'),
    ('id = "Preflight"\nuses = "translate"', 'step #1: field "id": string "Preflight" is not a '
                                             "valid step id"),
    ('id = "-a"\nuses = "translate"', "is not a valid step id"),
    ('id = "a b"\nuses = "translate"', "is not a valid step id"),
    ("id = 3\nuses = \"translate\"", 'field "id": number 3 is not a valid step id'),
    ('id = "a"', 'runbooks/x.toml: step "a": missing required field "uses"'),
    ('id = "a"\nuses = ""', 'step "a": missing required field "uses"'),
    ('id = "a"\nuses = 5', 'step "a": field "uses" must be a string, got number 5'),
    ('id = "a"\nuses = ["x"]', 'step "a": field "uses" must be a string, got an array'),
    ('id = "a"\nuses = "translate"\nretry = 2',
     'step "a": unknown field "retry" (did you mean "retries"?); allowed: id, on_failure, retries'),
    ('id = "a"\nuses = "translate"\nwith = "x"', 'step "a": field "with" must be a table'),
    ('id = "a"\nuses = "translate"\nwhen = true', 'field "when" must be a string, got boolean'),
    ('id = "a"\nuses = "translate"\nwhen = "planned and"',
     'step "a": field "when": bad condition "planned and": nothing after "and"'),
    ('id = "a"\nuses = "translate"\ntimeout = "5x"', 'step "a": field "timeout": string "5x" is '
                                                    "not a duration"),
    ('id = "a"\nuses = "translate"\ntimeout = 0', 'field "timeout" must be > 0'),
    ('id = "a"\nuses = "translate"\ntimeout = true', 'field "timeout": boolean true is not a'),
    ('id = "a"\nuses = "translate"\ntimeout = -3', "duration must be a finite number ≥ 0"),
    ('id = "a"\nuses = "translate"\non_failure = "ignore"',
     'step "a": field "on_failure" must be "abort" or "continue", got string "ignore"'),
    ('id = "a"\nuses = "translate"\nretries = -1', 'field "retries" must be ≥ 0, got -1'),
    ('id = "a"\nuses = "translate"\nretries = 1.5', '"retries" must be an integer, got number 1.5'),
    ('id = "a"\nuses = "translate"\nretries = true', '"retries" must be an integer, got boolean'),
    ('id = "a"\nuses = "translate"\nretries = "2"', '"retries" must be an integer, got string "2"'),
])
def test_step_errors_name_file_step_and_field(body: str, expected: str) -> None:
    assert expected in error(step(body), check=False)


def test_step_options_are_parsed() -> None:
    runbook = parse(step('id = "a_1"\nuses = "translate"\ntimeout = "1m30s"\nretries = 3\n'
                         'on_failure = "continue"\nwhen = "not planned"'))
    only = runbook.steps[0]
    assert (only.id, only.timeout_s, only.retries, only.on_failure, only.when) == (
        "a_1", 90.0, 3, "continue", "not planned")
    assert parse(step('id = "9"\nuses = "translate"\ntimeout = 2.5')).steps[0].timeout_s == 2.5


def test_duplicate_step_ids() -> None:
    text = step('id = "a"\nuses = "translate"') + '[[steps]]\nid = "b"\nuses = "translate"\n' \
        '[[steps]]\nid = "a"\nuses = "commit"\n'
    assert error(text, check=False) == (
        'runbooks/x.toml: step #3: duplicate step id "a" (also step #1)')


# ── validation against schemas ──────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("body", "expected"), [
    ('id = "dns"\nuses = "fllip"',
     'runbooks/x.toml: step "dns": unknown step type "fllip" (did you mean "dns-flip"?); '
     "known: approve, commit, dns-flip, exec, neutralise-mm2, preflight, translate, verify"),
    ('id = "a"\nuses = "zzz"', 'unknown step type "zzz"; known: approve,'),
    ('id = "p"\nuses = "preflight"\nwith = { max_heartbeat = "5s" }',
     'step "p": with: unknown field "max_heartbeat" for "preflight" (did you mean '
     '"max_heartbeat_age"?); allowed: max_checkpoint_age, max_heartbeat_age, strict'),
    ('id = "t"\nuses = "translate"\nwith = { x = 1 }',
     'with: unknown field "x" for "translate"; allowed: (none: this step takes no fields)'),
    ('id = "e"\nuses = "exec"', 'step "e": with: missing required field "command" for "exec"'),
    ('id = "c"\nuses = "commit"\nwith = { batch = "100" }',
     'step "c": with: field "batch": expected an integer, got string "100"'),
    ('id = "c"\nuses = "commit"\nwith = { batch = true }', "expected an integer, got boolean true"),
    ('id = "p"\nuses = "preflight"\nwith = { strict = "yes" }',
     'field "strict": expected true or false, got string "yes"'),
    ('id = "e"\nuses = "exec"\nwith = { command = "ls -l" }',
     'field "command": expected an array of strings, got string "ls -l"'),
    ('id = "e"\nuses = "exec"\nwith = { command = ["ls", 1] }', "expected an array of strings"),
    ('id = "e"\nuses = "exec"\nwith = { command = ["ls"], env = "A=1" }',
     'field "env": expected a table, got string "A=1"'),
    ('id = "n"\nuses = "neutralise-mm2"\nwith = { alive_within = "30 sec" }',
     'step "n": with: field "alive_within": string "30 sec" is not a duration'),
    ('id = "n"\nuses = "neutralise-mm2"\nwith = { alive_within = "30" }', "is not a duration"),
    ('id = "n"\nuses = "neutralise-mm2"\nwith = { alive_within = -1 }', "finite number ≥ 0"),
    ('id = "v"\nuses = "verify"\nwith = { settle = "soon" }', 'is not a duration; use seconds (30) '
                                                             'or a string such as "30s", "5m", '
                                                             '"1h", "500ms" or one of "auto"'),
])
def test_schema_errors_name_file_step_and_field(body: str, expected: str) -> None:
    assert expected in error(step(body))


def test_validate_normalises_and_fills_defaults() -> None:
    text = step('id = "p"\nuses = "preflight"\nwith = { max_heartbeat_age = "500ms" }') + (
        '[[steps]]\nid = "v"\nuses = "verify"\nwith = { settle = "auto" }\n'
        '[[steps]]\nid = "v2"\nuses = "verify"\nwith = { settle = 12 }\n')
    original = parse(text)
    checked = validate(original, SCHEMAS)
    assert checked.steps[0].with_ == {"max_heartbeat_age": 0.5, "strict": False}
    assert checked.steps[1].with_ == {"settle": "auto"}
    assert checked.steps[2].with_ == {"settle": 12.0}
    assert original.steps[0].with_ == {"max_heartbeat_age": "500ms"}  # input left untouched
    assert (checked.digest, checked.path, checked.name) == (original.digest, FILE, "x")


def test_choices_and_float_fields() -> None:
    schemas = {"s": StepSchema("s", {"mode": FieldSpec("str", choices=("fast", "safe")),
                                     "tags": FieldSpec("str|list[str]", choices=("a", "b")),
                                     "ratio": FieldSpec("float")})}
    good = parse(step('id = "a"\nuses = "s"\nwith = { mode = "safe", tags = ["a"], ratio = 1 }'))
    assert validate(good, schemas).steps[0].with_ == {"mode": "safe", "tags": ["a"], "ratio": 1.0}
    bad = parse(step('id = "a"\nuses = "s"\nwith = { tags = ["a", "c"] }'))
    with pytest.raises(ConfigError, match='field "tags": string "c" is not one of "a", "b"'):
        validate(bad, schemas)
    with pytest.raises(ValueError, match="FieldSpec type"):
        FieldSpec("number")  # type: ignore[arg-type]


def test_validate_checks_condition_names_when_given() -> None:
    runbook = parse(step('id = "a"\nuses = "translate"\nwhen = "planed and dns.configured"'))
    validate(runbook, SCHEMAS)  # names unknown to validate: checked at run time
    with pytest.raises(ConfigError, match=r'step "a": field "when": unknown name "planed" '
                                          r'\(did you mean "planned"\?\); known: args, dns'):
        validate(runbook, SCHEMAS, known_names=CONTEXT_NAMES)


# ── durations ───────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("value", "seconds"), [
    (30, 30.0), (1.5, 1.5), (0, 0.0), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0),
    ("500ms", 0.5), ("1m30s", 90.0), ("1.5h", 5400.0), (" 2s ", 2.0),
])
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["30", "", "5x", "s", "-5s", "5 m", True, None, [], float("inf"),
                                   -1])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^where: "):
        parse_duration(value, "where")


# ── conditions ──────────────────────────────────────────────────────────────────────────────────

CTX = {"planned": False, "kind": "failover", "args": {"planned": True, "mode": "fast", "n": 3},
       "dns": {"configured": True, "provider": None}}


def test_parse_condition_shapes() -> None:
    assert parse_condition("planned").any_of == ((Clause("planned", "truthy"),),)
    assert parse_condition("not planned").any_of == ((Clause("planned", "falsy"),),)
    cond = parse_condition('a or b and args.mode == "x y" or c != \'it\\\'s\'')
    assert cond.any_of == (
        (Clause("a", "truthy"),),
        (Clause("b", "truthy"), Clause("args.mode", "eq", "x y")),
        (Clause("c", "ne", "it's"),),
    )
    assert cond.names == ("a", "b", "args.mode", "c")
    assert parse_condition("steps.dns-flip.changed").names == ("steps.dns-flip.changed",)


@pytest.mark.parametrize(("text", "result"), [
    ("planned", False), ("not planned", True), ("args.planned", True),
    ('kind == "failover"', True), ('kind != "failover"', False), ('args.mode == "slow"', False),
    ('dns.configured == "true"', True), ('args.n == "3"', True), ('dns.provider == ""', True),
    ("not dns.provider", True),
    # and binds tighter than or
    ("args.planned or planned and not args.planned", True),
    ("planned and args.planned or dns.configured", True),
    ("planned or args.planned and not dns.configured", False),
    ("planned and args.planned or not dns.configured", False),
])
def test_evaluate(text: str, result: bool) -> None:
    assert parse_condition(text).evaluate(CTX) is result


@pytest.mark.parametrize(("text", "expected"), [
    ("plannd", 'condition "plannd": unknown name "plannd"; known: args, dns, kind, planned'),
    ("args.planned or typo", 'unknown name "typo"'),  # no short-circuit hides a typo
    ("dns.configred", 'unknown name "dns.configred"; known under dns: configured, provider'),
    ("planned.x", 'unknown name "planned.x"; "planned" is boolean false, not a table'),
])
def test_evaluate_unknown_names(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_condition(text).evaluate(CTX)
    assert expected in str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("", "nothing in it"), ("   ", "nothing in it"),
    ("planned and", 'nothing after "and"'), ("and planned", 'nothing before "and" at column 1'),
    ("a or or b", 'nothing before "or" at column 6'),
    ("(a)", 'unexpected "(a)" at column 1; parentheses are not supported'),
    ("a && b", 'unexpected "&& b" at column 3'),
    ("a = 'b'", "unexpected \"= 'b'\" at column 3"),
    ("a == b", 'cannot read "a == b" at column 1; expected NAME, not NAME, NAME == "text"'),
    ('not a == "x"', 'cannot read "not a == "x""'),
    ('a == "open', 'unexpected ""open" at column 6; unterminated string'),
    ("a == 'open", "unterminated string"), ("a)", "parentheses are not supported"),
    ("a b", 'cannot read "a b"'), ("not", 'cannot read "not"'), ("a.", 'unexpected "." at'),
])
def test_condition_syntax_errors(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_condition(text)
    assert str(info.value).startswith("bad condition")
    assert expected in str(info.value)


def test_runbook_should_run_names_file_and_step() -> None:
    runbook = parse(step('id = "a"\nuses = "translate"') +
                    '[[steps]]\nid = "b"\nuses = "translate"\nwhen = "planed"\n')
    assert runbook.should_run(runbook.steps[0], {}) is True
    with pytest.raises(ConfigError, match=r'^runbooks/x.toml: step "b": when: condition "planed": '
                                          r'unknown name "planed"; known: planned'):
        runbook.should_run(runbook.steps[1], {"planned": True})


# ── finding runbooks ────────────────────────────────────────────────────────────────────────────


def test_user_dir_wins_over_packaged(tmp_path: Path) -> None:
    user, packaged = tmp_path / "user", packaged_runbook_dir()
    user.mkdir()
    (user / "failover.toml").write_text(step('id = "a"\nuses = "translate"', "mine"))
    assert find_runbook("failover", [user, packaged]) == user / "failover.toml"
    assert find_runbook("failover", [packaged, user]) == packaged / "failover.toml"
    assert find_runbook("drill", [tmp_path / "absent", user, packaged]) == packaged / "drill.toml"
    assert available_runbooks([user, packaged])["failover"] == user / "failover.toml"


def test_paths_are_used_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mine.toml").write_text(step('id = "a"\nuses = "translate"'))
    (tmp_path / "failover.toml").write_text(step('id = "a"\nuses = "translate"'))
    monkeypatch.chdir(tmp_path)
    assert find_runbook("sub/mine.toml", [packaged_runbook_dir()]) == Path("sub/mine.toml")
    assert find_runbook("failover.toml", [packaged_runbook_dir()]) == Path("failover.toml")
    with pytest.raises(ConfigError, match=r"runbook file sub/other\.toml not found"):
        find_runbook("sub/other.toml", [packaged_runbook_dir()])


def test_unknown_name_lists_searched_and_available(tmp_path: Path) -> None:
    packaged = packaged_runbook_dir()
    with pytest.raises(ConfigError) as info:
        find_runbook("failovr", [tmp_path, packaged])
    message = str(info.value)
    assert message.startswith('runbook "failovr" not found (did you mean "failover"?); ')
    assert f"searched: {tmp_path}, {packaged};" in message
    assert "available: drill, failback, failover" in message


# ── digest ──────────────────────────────────────────────────────────────────────────────────────


def test_digest_is_sha256_of_file_bytes_and_stable(tmp_path: Path) -> None:
    text = step('id = "a"\nuses = "translate"')
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(text)
    second.write_text(text)
    digest = load_runbook(first).digest
    assert digest == hashlib.sha256(first.read_bytes()).hexdigest()
    assert load_runbook(first).digest == digest == load_runbook(second).digest
    first.write_text("# a comment changes the file, so the digest\n" + text)
    assert load_runbook(first).digest != digest
    shipped = REPO_RUNBOOKS / "failover.toml"
    assert load_runbook(shipped).digest == hashlib.sha256(shipped.read_bytes()).hexdigest()
