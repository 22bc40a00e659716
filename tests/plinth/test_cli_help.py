"""`plinth --version` and `--help`: every command, present and future, explains itself with
examples that parse and the exit codes it uses."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import version

import pytest

from plinth.bootstrap import DEFAULT_KMS_ALIAS
from plinth.cli import _parser, main
from plinth.cli_help import COMMANDS
from tests.conftest import ROOT


def subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command of `parser` and their own commands (`bootstrap aws`), depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from subcommands(child, (*path, name))


COMMAND_PATHS = [path for path, _ in subcommands(_parser())]


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "--help"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_version_is_the_packages() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    result = subprocess.run(
        [sys.executable, "-m", "plinth.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout == f"plinth {project['version']}\n"
    assert version("plinth") == project["version"]  # the installed metadata is current


def test_version_and_help_load_no_cloud_sdk() -> None:
    """--version and --help answer at once: Pulumi, boto, the Azure SDKs and pydantic are
    not imported."""
    probe = (
        "import json, sys\n"
        "from plinth.cli import main\n"
        "codes = [main(['--version']), main(['--help']), main(['bootstrap', 'aws', '--help']),\n"
        "         main(['bootstrap', 'azure', '--help'])]\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pulumi', 'pulumi_aws', 'boto3', 'botocore', 'pydantic', 'yaml', 'azure', 'msal'})\n"
        "print(json.dumps([codes, heavy]), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    codes, heavy = json.loads(result.stderr.splitlines()[-1])
    assert codes == [0, 0, 0, 0]
    assert heavy == []


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_every_command_has_examples_and_exit_codes(
    capsys: pytest.CaptureFixture[str], path: tuple[str, ...]
) -> None:
    text = help_of(capsys, *path)
    assert "Examples:" in text
    assert "Exit codes:" in text
    help_entry = COMMANDS[" ".join(path)]
    for command, _ in help_entry.examples:
        assert command in text
    for code, _ in help_entry.exit_codes:
        assert f"\n  {code:<4} " in text
    assert {code for code, _ in help_entry.exit_codes} >= {0, 2, 130}


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_every_example_is_a_valid_command_line(path: tuple[str, ...]) -> None:
    for command, _ in COMMANDS[" ".join(path)].examples:
        words = shlex.split(command.split(" > ")[0])
        words = words[next(i for i, word in enumerate(words) if word == "plinth") + 1 :]
        assert tuple(words[: len(path)]) == path, command
        _parser().parse_args(words)  # raises UsageError if the example does not parse


def test_top_level_help_lists_every_command_with_its_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_of(capsys)
    top_level = [path[0] for path in COMMAND_PATHS if len(path) == 1]
    lines = text.splitlines()
    for name in top_level:
        summary = COMMANDS[name].summary
        assert any(line.split() == [name, *summary.split()] for line in lines), name
    assert "Example session:" in text
    assert "Exit codes:" in text
    # Every command named in the example session is a real one.
    session = text[text.index("Example session:") :].split("Exit codes:")[0]
    used = {line.split()[1] for line in session.splitlines() if line.strip().startswith("plinth ")}
    assert used <= set(top_level)
    assert len(used) >= 4


def test_the_kms_alias_default_shown_is_the_one_used(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "bootstrap", "aws")
    assert f"(default: {DEFAULT_KMS_ALIAS})" in " ".join(text.split())
