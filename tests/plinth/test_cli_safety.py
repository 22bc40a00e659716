"""What `plinth` may write, and how it fails: only its own output, one line, never a traceback.

Every test works in tmp_path: a throwaway project (Pulumi.yaml, environments/, a .git) or
an output folder there; nothing outside tmp_path is written or deleted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from plinth import output
from plinth.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, main
from plinth.output import MARKER_NAME, OutputError, output_directory
from plinth.plan import plan_document, write_plan
from tests.conftest import ROOT

SOME_OBJECT = {
    "urn": "urn:pulumi:t::plinth::kubernetes:core/v1:Namespace::jobs",
    "type": "kubernetes:core/v1:Namespace",
    "custom": True,
    "inputs": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jobs"}},
}


def project(tmp_path: Path) -> Path:
    """A checkout-like project: Pulumi.yaml, the local environment, a .git with a file, and a
    program that must not run (every refusal comes before it)."""
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    local = (ROOT / "environments" / "Pulumi.local.yaml").read_text()
    (root / "environments" / "Pulumi.local.yaml").write_text(local)
    (root / "stacks").mkdir()
    (root / "stacks" / "__main__.py").write_text("raise SystemExit('the program must not run')\n")
    return root


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("plinth: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = project(tmp_path)
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(root))
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        (".", "project directory itself"),
        ("{root}", "project directory itself"),
        ("environments", "environments"),
        (".git/plans", ".git"),
        ("stacks/plan", "stacks"),
        ("Pulumi.yaml", "Pulumi.yaml"),
        ("{tmp}", "did not write"),
    ],
    ids=["dot", "checkout", "environments", "inside-git", "inside-stacks", "a-file", "parent"],
)
def test_out_refuses_what_plinth_did_not_write(
    in_project: Path, capsys: pytest.CaptureFixture[str], out: str, expected: str
) -> None:
    before = files_under(in_project.parent)
    argument = out.format(root=in_project, tmp=in_project.parent)
    assert main(["synth", "local", "--out", argument]) == EXIT_BAD_INPUT
    assert expected in one_error_line(capsys)
    assert files_under(in_project.parent) == before
    assert not (in_project / ".git" / "plans").exists()
    assert not (in_project / "stacks" / "plan").exists()


def test_out_refuses_a_folder_of_the_users_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    assert main(["synth", "local", "--out", str(folder)]) == EXIT_BAD_INPUT
    assert MARKER_NAME in one_error_line(capsys)
    assert files_under(folder) == {"notes.txt": b"keep me"}


def test_out_refuses_a_file_and_leaves_it_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.txt"
    report.write_text("mine")
    assert main(["graph", "local", "--out", str(report)]) == EXIT_BAD_INPUT
    assert "not a directory" in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


def test_out_refuses_a_symbolic_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert main(["synth", "local", "--out", str(tmp_path / "link")]) == EXIT_BAD_INPUT
    assert "symbolic link" in one_error_line(capsys)
    assert list((tmp_path / "real").iterdir()) == []


def test_a_new_directory_is_marked_and_a_marked_one_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "out" / "t"
    write_plan(out, plan_document("t", [SOME_OBJECT]))
    assert (out / MARKER_NAME).read_text().startswith("This directory holds output")
    (out / "notes.txt").write_text("mine")
    (out / "graph.mmd").write_text("flowchart LR\n")
    write_plan(out, plan_document("t", []))
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "graph.mmd").read_text() == "flowchart LR\n"
    assert list((out / "manifests").rglob("*.yaml")) == []  # the old object is gone
    assert '"resources": []' in (out / "plan.json").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".plinth-staging-")]


def test_output_of_plinth_before_the_marker_is_still_replaced(tmp_path: Path) -> None:
    out = tmp_path / "old"
    (out / "manifests" / "jobs").mkdir(parents=True)
    (out / "manifests" / "jobs" / "stale.yaml").write_text("kind: Namespace\n")
    (out / "plan.json").write_text("{}")
    write_plan(out, plan_document("t", [SOME_OBJECT]))
    assert sorted(files_under(out / "manifests")) == ["_cluster/namespace-jobs.yaml"]
    assert (out / MARKER_NAME).is_file()


def test_graph_files_survive_a_later_synth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
    out = tmp_path / "local"
    assert main(["graph", "local", "--out", str(out)]) == 0
    graph = (out / "graph.mmd").read_bytes()
    assert main(["synth", "local", "--out", str(out)]) == 0
    assert (out / "graph.mmd").read_bytes() == graph
    assert (out / "plan.json").is_file()
    assert "Traceback" not in capsys.readouterr().err


def test_check_output_refuses_a_directory_and_the_projects_files(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_under(in_project)
    assert main(["check", "local", "--output", "environments/Pulumi.local.yaml"]) == 2
    assert "environments" in one_error_line(capsys)
    assert main(["check", "local", "--output", str(in_project.parent)]) == EXIT_BAD_INPUT
    assert "is a directory" in one_error_line(capsys)
    assert files_under(in_project) == before


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    out = tmp_path / "shared"
    finished: list[float] = []

    def write() -> None:
        write_plan(out, plan_document("t", [SOME_OBJECT]))
        finished.append(time.monotonic())

    with output_directory(out):
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        released = time.monotonic()
        assert finished == []  # still waiting for the lock
    writer.join(timeout=10)
    assert finished
    assert finished[0] >= released
    assert (out / "plan.json").is_file()


def test_a_writer_that_waits_too_long_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "LOCK_TIMEOUT_S", 0.2)
    out = tmp_path / "busy"
    with output_directory(out), pytest.raises(OutputError, match="another plinth"):
        write_plan(out, plan_document("t", []))


def test_a_directory_claimed_while_it_is_checked_is_plinths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another plinth claims the new directory (marker, then its staging folder) just
    # before this one lists it: the listing, not an earlier look, decides.
    out = tmp_path / "claimed"
    out.mkdir()
    listing = Path.iterdir

    def claimed_then_listed(directory: Path) -> Iterator[Path]:
        if directory == out:
            (out / MARKER_NAME).write_text(output.MARKER_TEXT, encoding="utf-8")
            (out / f"{output.STAGING_PREFIX}other").mkdir(exist_ok=True)
        return listing(directory)

    monkeypatch.setattr(Path, "iterdir", claimed_then_listed)
    assert output.checked_output_directory(out) == out.resolve()


def test_writers_at_once_all_succeed(tmp_path: Path) -> None:
    out = tmp_path / "racy"
    errors: list[BaseException] = []

    def write(count: int) -> None:
        try:
            write_plan(out, plan_document("t", [SOME_OBJECT] * count))
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    writers = [threading.Thread(target=write, args=(n % 2,)) for n in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=30)
    assert errors == []
    assert (out / "plan.json").is_file()


def test_ctrl_c_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("plinth.synth.synthesize", interrupted)
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
    assert main(["synth", "local"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "plinth: interrupted\n"


def test_sigint_during_a_real_synth_exits_130(tmp_path: Path) -> None:
    environment = {**os.environ, "PLINTH_PROJECT_DIR": str(ROOT)}
    # Says "ready" just before main(): the signal then lands inside it, on a loaded machine too.
    program = (
        "import sys, plinth.cli; print('ready', flush=True); "
        f"sys.exit(plinth.cli.main(['synth', 'prod', '--out', {str(tmp_path / 'o')!r}]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", program],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    time.sleep(0.5)  # importing Pulumi alone takes longer
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert stderr.strip().splitlines() == ["plinth: interrupted"]
    assert not (tmp_path / "o" / "plan.json").exists()


def test_leftovers_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_plan(out, plan_document("t", []))
    (out / ".plinth-staging-killed" / "manifests").mkdir(parents=True)
    write_plan(out, plan_document("t", []))
    assert not (out / ".plinth-staging-killed").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["synth"],
        ["synth", "local", "--bogus"],
        ["check", "local", "--format", "pdf"],
        ["synth", "local", "--out", ""],
        ["synth", "local", "--out", "a\x00b"],
        ["diff", "local", "--rev", "--output=/tmp/x"],
        ["nonsense"],
    ],
    ids=["missing", "unknown-option", "bad-choice", "empty-path", "nul", "rev-option", "command"],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_BAD_INPUT
    assert "--help" in one_error_line(capsys)


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--help"]) == 0
    assert "--out" in capsys.readouterr().out


def test_a_name_with_a_newline_is_printed_on_one_line(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "a\nb\x1b[31m"]) == EXIT_BAD_INPUT
    line = one_error_line(capsys)
    assert "\\n" in line
    assert "\x1b" not in line
    assert not (in_project / "out").exists()


@pytest.mark.parametrize(
    ("option", "case"),
    [
        ("--plan", ("{}".encode("utf-16"), "save it as UTF-8")),
        ("--policy-config", (b"[" * 100_000, "nested too deeply")),
        ("--plan", (b"\x89PNG\r\n\x1a\n\x00\x00", "NUL bytes")),
        ("--policy-config", (b'{"x": NaN}', "NaN")),
    ],
    ids=["utf16-plan", "deep-policy-config", "binary-plan", "nan-policy-config"],
)
def test_json_arguments_that_cannot_be_read_are_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    case: tuple[bytes, str],
) -> None:
    content, expected = case
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
    given = tmp_path / "given.json"
    given.write_bytes(content)
    assert main(["check", "local", option, str(given)]) == EXIT_BAD_INPUT
    line = one_error_line(capsys)
    assert f"{option} {given}" in line
    assert expected in line
