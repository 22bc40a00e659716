"""Random environment files, names and arguments thrown at every offline command.

Whatever comes in, `plinth` answers with an exit code of 0, 1, 2 or 3 and, on bad input,
one line on stderr: never a traceback (in-process, an exception escaping `main`). The
commands run in-process (`plinth.cli.main`) against a throwaway project in a temporary
directory (Pulumi.yaml, environments/, the real stacks/). What is fuzzed is everything
around the program: arguments, names, reading and validating the environment file,
writing and reading plans, the policy pack on a plan, diff and graph. The program itself
(with its Helm charts, seconds per run) runs once per module, and every fuzzed command
that gets that far reuses its plan; the program's own tests cover it with real inputs.
`bootstrap` and `preflight` run against moto with fake credentials: no network.
"""

from __future__ import annotations

import codecs
import copy
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plinth.cli import main
from plinth.environments import Environment, load_environment
from plinth.synth import program_entries
from tests.conftest import ROOT, upstream_dir

LOCAL = (ROOT / "environments" / "Pulumi.local.yaml").read_text(encoding="utf-8")
ALLOWED_EXIT_CODES = {0, 1, 2, 3}
COMMANDS = ("synth", "graph", "check", "policy-config", "diff", "preflight", "bootstrap")

# A single path component (never an absolute path or a `/`): every --out and --output
# stays inside the throwaway project, whatever it says.
path_text = st.from_regex(r"[A-Za-z0-9._ -]{1,12}", fullmatch=True) | st.text(
    alphabet=st.characters(blacklist_characters="/", blacklist_categories=["Cs"]), max_size=12
)
# Mostly the fuzzed file, so that the commands get past the name to its contents.
names = st.sampled_from(["fuzz"] * 6 + ["local", "nowhere", "..", ".", "-x"]) | st.text(max_size=12)
out_paths = st.sampled_from([".", "..", "environments", "stacks", "Pulumi.yaml", "out"]) | path_text


def mutated_local() -> st.SearchStrategy[str]:
    """The local environment with one line changed, dropped or repeated."""
    lines = LOCAL.splitlines()
    return st.tuples(
        st.integers(0, len(lines) - 1),
        st.sampled_from(["drop", "repeat", "replace"]),
        st.sampled_from(["  tier: prod", "  plinth:tier: prod", "x: &a [*a]", ": :", "\t"])
        | st.text(max_size=20),
    ).map(lambda change: _apply(lines, *change))


def _apply(lines: list[str], index: int, how: str, text: str) -> str:
    changed = list(lines)
    if how == "drop":
        del changed[index]
    elif how == "repeat":
        changed.insert(index, changed[index])
    else:
        changed[index] = text
    return "\n".join(changed) + "\n"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)
yaml_configs = st.dictionaries(
    st.sampled_from(["plinth:tier", "tier", "plinth:cluster", "plinth:node_pools", "x:y"]),
    json_values,
    max_size=4,
).map(lambda config: yaml.safe_dump({"config": config}))

LOCAL_CONFIG = yaml.safe_load(LOCAL)["config"]
# Settings a valid file may change, so that random values reach the models and the program.
SETTINGS = (
    ("plinth:spark_operator", "values_override"),
    ("plinth:spark_operator", "controller_replicas"),
    ("plinth:jobs", "quota"),
    ("plinth:node_pools", "gpu"),
    ("plinth:cluster", "kubernetes_version"),
    ("plinth:policy", "waivers"),
)


def _with_setting(setting: tuple[str, str], value: object) -> str:
    key, field = setting
    config = {**LOCAL_CONFIG, key: {**LOCAL_CONFIG.get(key, {}), field: value}}
    return yaml.safe_dump({"config": config})


local_with_random_values = st.builds(_with_setting, st.sampled_from(SETTINGS), json_values)

environment_files: st.SearchStrategy[bytes] = st.one_of(
    local_with_random_values.map(str.encode),
    mutated_local().map(str.encode),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    yaml_configs.map(str.encode),
    mutated_local().map(str.encode),
    st.sampled_from([codecs.BOM_UTF16_LE + LOCAL.encode("utf-16-le"), LOCAL.encode()]),
)


def arguments(command: str) -> st.SearchStrategy[list[str]]:
    """argv for `command`: mostly well-formed, sometimes not."""
    stray = st.sampled_from(["--out", "--output", "--plan", "--format", "--rev", "--region"])
    no_extras: list[list[str]] = [[], [], [], []]  # mostly none: each stray one is refused
    maybe = st.sampled_from(no_extras) | st.lists(stray | path_text, max_size=2)
    if command in ("synth", "graph"):
        specific = st.tuples(names, st.none() | out_paths).map(
            lambda pair: [pair[0]] + ([] if pair[1] is None else ["--out", pair[1]])
        )
    elif command == "check":
        specific = st.tuples(
            names,
            st.sampled_from(["table", "json", "sarif", "markdown", "pdf"]),
            st.sampled_from([[], ["--output", "report.txt"], ["--plan", "plan.bin"]]),
        ).map(lambda args: [args[0], "--format", args[1], *args[2]])
    elif command == "diff":
        specific = st.tuples(names, st.sampled_from([[], ["local"], ["--rev", "HEAD"]])).map(
            lambda args: [args[0], *args[1]]
        )
    elif command == "bootstrap":
        specific = st.tuples(st.sampled_from(["eu-west-1", "mars-1"]) | path_text, path_text).map(
            lambda args: ["aws", "--region", args[0], "--bucket", args[1]]
        )
    else:
        specific = names.map(lambda name: [name])
    return st.tuples(specific, maybe).map(lambda parts: parts[0] + parts[1])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "project"
    (root / "environments").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copy(ROOT / "environments" / "Pulumi.local.yaml", root / "environments")
    (root / "stacks").symlink_to(ROOT / "stacks")
    return root


@pytest.fixture(scope="module")
def recorded_plan(project: Path) -> list[dict[str, Any]]:
    """Plan entries from one real run of the program, on the local environment without its
    charts (no Spark operator, no GPU pool): small, so the pack checks it in milliseconds."""
    light = {**LOCAL_CONFIG, "plinth:spark_operator": {"enabled": False}}
    light["plinth:node_pools"] = {"system": LOCAL_CONFIG["plinth:node_pools"]["system"]}
    path = project / "environments" / "Pulumi.light.yaml"
    path.write_text(yaml.safe_dump({"config": light}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLINTH_UPSTREAM_DIR", str(upstream_dir()))
        return program_entries(project, load_environment(project, "light"))


@pytest.fixture
def in_project(
    project: Path,
    recorded_plan: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    fake_aws_credentials: None,  # noqa: ARG001 (bootstrap and preflight never see real ones)
    aws: None,  # noqa: ARG001 (every AWS call answered by moto)
) -> Path:
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(project))
    monkeypatch.chdir(project)

    def replayed(root: Path, environment: Environment, *progress: object) -> list[dict[str, Any]]:  # noqa: ARG001
        return copy.deepcopy(recorded_plan)

    monkeypatch.setattr("plinth.synth.program_entries", replayed)
    monkeypatch.setattr("plinth.check.program_entries", replayed)
    return project


@settings(
    max_examples=120,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(COMMANDS).flatmap(
        lambda name: arguments(name).map(lambda a: (name, a))
    ),
    environment_file=environment_files,
    plan_bytes=st.binary(max_size=64),
)
def test_no_input_gives_a_traceback(
    in_project: Path,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, list[str]],
    environment_file: bytes,
    plan_bytes: bytes,
) -> None:
    (in_project / "environments" / "Pulumi.fuzz.yaml").write_bytes(environment_file)
    (in_project / "plan.bin").write_bytes(plan_bytes)
    name, argv = command
    exit_code = main([name, *argv])  # an exception escaping here fails the test
    captured = capsys.readouterr()
    assert exit_code in ALLOWED_EXIT_CODES
    assert "Traceback" not in captured.err
    if exit_code == 2:
        assert len(captured.err.strip().splitlines()) == 1, captured.err
