"""The environment argument: a name or its file, a close name suggested for a typo, a path
that is no environment file refused in one line, and what `plinth synth` says to do next."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from plinth.cli import EXIT_BAD_INPUT, _parser, main
from plinth.environments import available, environment_file, load_environment
from tests.conftest import ROOT
from tests.plinth.test_cli import local_config, run_plinth, write_environment
from tests.plinth.test_cli_help import subcommands

# Every command that takes an environment, with what else it needs to get that far.
EXTRA_ARGUMENTS: dict[tuple[str, ...], list[str]] = {("diff",): ["--rev", "HEAD"]}
ENVIRONMENT_COMMANDS = [
    path
    for path, parser in subcommands(_parser())
    if any(action.dest == "environment" for action in parser._actions)
]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
    monkeypatch.chdir(ROOT)
    return ROOT


def test_a_misspelt_environment_is_answered_with_the_closest_name() -> None:
    result = run_plinth("synth", "prdo", project=ROOT)
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "did you mean 'prod'?" in line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", ENVIRONMENT_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("typo", ["prdo", "PROD", "environments/Pulumi.prdo.yaml"])
def test_every_command_suggests_the_closest_environment(
    in_root: Path, capsys: pytest.CaptureFixture[str], path: tuple[str, ...], typo: str
) -> None:
    argv = [*path, typo, *EXTRA_ARGUMENTS.get(path, [])]
    assert main(argv) == EXIT_BAD_INPUT
    line = one_error_line(capsys)
    assert "did you mean 'prod'?" in line
    assert all(name in line for name in available(in_root))


def test_a_name_like_none_lists_them_all(in_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "quux"]) == EXIT_BAD_INPUT
    line = one_error_line(capsys)
    assert "did you mean" not in line
    assert f"give one of {', '.join(available(in_root))}, or create the file" in line


def test_the_environment_commands_are_found() -> None:
    assert {("synth",), ("check",), ("diff",), ("policy-config",)} <= set(ENVIRONMENT_COMMANDS)


@pytest.mark.parametrize(
    "given",
    [
        "environments/Pulumi.prod.yaml",
        "./environments/../environments/Pulumi.prod.yaml",
        str(ROOT / "environments" / "Pulumi.prod.yaml"),
    ],
)
@pytest.mark.usefixtures("in_root")
def test_the_file_names_the_environment(capsys: pytest.CaptureFixture[str], given: str) -> None:
    assert main(["policy-config", "prod"]) == 0
    by_name = capsys.readouterr().out
    assert main(["policy-config", given]) == 0
    assert capsys.readouterr().out == by_name


def test_the_file_is_found_from_inside_environments(
    in_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy-config", "local"]) == 0
    by_name = capsys.readouterr().out
    monkeypatch.chdir(in_root / "environments")
    assert main(["policy-config", "Pulumi.local.yaml"]) == 0
    assert capsys.readouterr().out == by_name


def test_synth_of_the_file_is_synth_of_the_name(tmp_path: Path) -> None:
    by_name = run_plinth("synth", "prod", "--out", str(tmp_path / "name"), project=ROOT)
    by_file = run_plinth(
        "synth", "environments/Pulumi.prod.yaml", "--out", str(tmp_path / "file"), project=ROOT
    )
    assert by_name.returncode == by_file.returncode == 0, by_file.stderr
    plan = (tmp_path / "name" / "plan.json").read_bytes()
    assert (tmp_path / "file" / "plan.json").read_bytes() == plan
    assert by_file.stdout == by_name.stdout.replace(str(tmp_path / "name"), str(tmp_path / "file"))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("README.md", "not an environment file (environments/Pulumi.<name>.yaml)"),
        ("stacks", "not an environment file"),
        ("environments/local.yaml", "not an environment file"),
        ("environments/Pulumi.local.yml", "not an environment file"),
        ("Pulumi.yaml", "not an environment file"),
        ("bad\x00path/x", "NUL"),
    ],
)
@pytest.mark.usefixtures("in_root")
def test_a_path_that_is_no_environment_file_is_one_line(
    capsys: pytest.CaptureFixture[str], given: str, expected: str
) -> None:
    assert main(["synth", given]) == EXIT_BAD_INPUT
    line = one_error_line(capsys)
    assert expected in line
    assert "give an environment's name or file" in line or "plain path" in line


def test_an_environment_file_outside_the_project_is_refused(
    in_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "Pulumi.local.yaml"
    shutil.copy(in_root / "environments" / "Pulumi.local.yaml", copy)
    assert main(["synth", str(copy)]) == EXIT_BAD_INPUT
    line = one_error_line(capsys)
    assert f"not in {in_root / 'environments'}" in line
    assert "move it there" in line


@pytest.mark.usefixtures("in_root")
def test_diffs_other_environment_may_be_a_file_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "local", "README.md"]) == EXIT_BAD_INPUT
    assert "README.md: not an environment file" in one_error_line(capsys)


def test_an_environment_named_like_a_file_here_is_still_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_environment(tmp_path, "notes.txt", local_config())
    (tmp_path / "notes.txt").write_text("my notes")
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["policy-config", "notes.txt"]) == 0


def test_what_pulumi_stack_init_writes_into_the_file_is_accepted(tmp_path: Path) -> None:
    """The next step says `pulumi stack init` records its secrets provider in the file:
    the file still loads, with the same configuration."""
    document = {
        "encryptionsalt": "v1:c2FsdA==:v1:aXY=:Y2lwaGVy",
        "secretsprovider": "awskms://alias/plinth-pulumi-secrets?region=eu-west-1",
        "encryptedkey": "AQICAHg=",
        "config": local_config(),
    }
    write_environment(tmp_path, "stacked", yaml.safe_dump(document))
    write_environment(tmp_path, "plain", local_config())
    stacked, plain = (load_environment(tmp_path, name) for name in ("stacked", "plain"))
    assert stacked.pulumi_config == plain.pulumi_config
    assert stacked.platform == plain.platform


def test_synth_says_what_to_do_next_and_it_works(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = run_plinth("synth", "local", "--out", str(out), project=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.startswith("next: ")]
    step = " ".join(lines[index:])
    check = step.removeprefix("next: ").split(" (")[0]
    assert check == f"plinth check local --plan {out / 'plan.json'}"
    assert "pulumi up -s local" in step
    assert "pulumi stack init local" in step
    # The settings file it names is where Pulumi.yaml sends stack `local`.
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert f"{project['stackConfigDir']}/Pulumi.local.yaml" in step
    assert environment_file("local") == f"{project['stackConfigDir']}/Pulumi.local.yaml"
    # The suggested check runs on the plan just written.
    checked = subprocess.run(
        [sys.executable, "-m", "plinth.cli", *check.split()[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stderr
    assert "result:" in checked.stdout
