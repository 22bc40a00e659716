"""`plinth preview ENV`: synth, then check of that plan, in one process; and the status
line it shows on a terminal (plinth/progress.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plinth.preview import preview
from plinth.progress import ERASE_LINE, Progress
from tests.conftest import ROOT
from tests.plinth.test_check import waiving_an_unknown_rule
from tests.plinth.test_cli import local_config, run_plinth, write_environment


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != ".plinth-output"
    }


def test_preview_prints_and_writes_what_synth_then_check_of_its_plan_do(tmp_path: Path) -> None:
    synth = run_plinth("synth", "onprem", "--out", str(tmp_path / "synth"), project=ROOT)
    assert synth.returncode == 0, synth.stderr
    plan = str(tmp_path / "synth" / "plan.json")
    check = run_plinth("check", "onprem", "--plan", plan, project=ROOT)
    assert check.returncode == 0, check.stderr
    previewed = run_plinth("preview", "onprem", "--out", str(tmp_path / "preview"), project=ROOT)
    assert previewed.returncode == 0, previewed.stderr
    # synth's lines per component, without its next step (the check it suggests is done).
    summary, next_step = synth.stdout.split("\nnext: plinth check ", 1)
    assert next_step
    expected = summary.replace(str(tmp_path / "synth"), str(tmp_path / "preview")) + "\n"
    shown, after = previewed.stdout.split("\nnext: ", 1)
    assert shown + "\n" == expected + check.stdout
    # Then what to do next: the check is done, so straight to the Pulumi CLI.
    assert after.startswith("pulumi up -s onprem, which runs the policy pack again")
    assert "plinth policy-config onprem" in after
    assert "pulumi stack init onprem" in after
    assert _files(tmp_path / "preview") == _files(tmp_path / "synth")


def test_preview_exits_1_on_a_mandatory_violation(tmp_path: Path) -> None:
    config = local_config()
    config["plinth:tier"] = "prod"
    config["plinth:spark_operator"] = {"example": False}
    config["plinth:training_operator"] = {"example": False}
    write_environment(tmp_path, "strict", config)
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    result = run_plinth("preview", "strict", project=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "strict: " in result.stdout  # the synth summary came first
    assert "mandatory  images-pinned-by-digest" in result.stdout
    assert "next: fix the mandatory findings above and preview again" in result.stdout
    assert (tmp_path / "out" / "strict" / "plan.json").is_file()


def test_a_bad_policy_config_fails_before_anything_is_written(tmp_path: Path) -> None:
    waiving_an_unknown_rule(tmp_path)
    result = run_plinth("preview", "waived", project=tmp_path)
    assert result.returncode == 2
    assert "plinth:policy.waivers.no-such-rule: no such rule" in result.stderr
    assert not (tmp_path / "out").exists()


class Terminal(io.StringIO):
    """What a terminal receives."""

    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_erases_it() -> None:
    terminal = Terminal()
    progress = Progress(terminal)
    progress("running the program: local-spark (3 resources)")
    progress("rendering chart local-spark (spark-operator 2.5.2)")
    progress.clear()
    assert terminal.getvalue() == (
        f"{ERASE_LINE}running the program: local-spark (3 resources)"
        f"{ERASE_LINE}rendering chart local-spark (spark-operator 2.5.2){ERASE_LINE}"
    )
    progress.clear()  # nothing shown: nothing to erase
    assert terminal.getvalue().endswith(f"(spark-operator 2.5.2){ERASE_LINE}")


def test_progress_is_silent_when_stdout_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    progress("running the program: local-spark (3 resources)")
    progress.clear()
    assert stream.getvalue() == ""


def test_preview_reports_each_component_chart_and_resource(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
    statuses: list[str] = []

    class Recording(Progress):
        def __call__(self, status: str) -> None:
            statuses.append(status)

    report = preview("local", tmp_path / "out", Recording(io.StringIO()))
    printed = capsys.readouterr().out
    assert "local: " in printed
    assert printed.endswith(
        f"result: 0 mandatory, {report.count('advisory')} advisory, "
        f"{report.count('exempt')} exempt\n"
    )
    components = {s.split(": ")[1].split(" (")[0] for s in statuses if s.startswith("running")}
    assert {"local-existing", "local-gpu", "local-jobs", "local-spark", "local-training"} <= (
        components
    )
    assert "rendering chart local-spark (spark-operator 2.5.2)" in statuses
    assert f"checking resource 1 of {report.resources}: " in "\n".join(statuses)
    assert statuses.index("rendering chart local-spark (spark-operator 2.5.2)") < next(
        index for index, status in enumerate(statuses) if status.startswith("checking")
    )


def test_the_status_line_goes_to_a_terminal_only(tmp_path: Path) -> None:
    # Under a pseudo-terminal the status line is drawn (and erased); redirected, the
    # output is the summary and the table only, as the test above compares.
    script = (
        "import pty, sys\n"
        "sys.exit(pty.spawn([sys.executable, '-m', 'plinth.cli', 'preview', 'local', "
        f"'--out', {str(tmp_path / 'out')!r}]) >> 8)\n"
    )
    environment = {**os.environ, "PLINTH_PROJECT_DIR": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environment,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert b"\r\x1b[Krunning the program: local-" in result.stdout
    assert b"\r\x1b[Kchecking resource 1 of " in result.stdout
