"""Plans synthesized in a subprocess, by another git revision's own code.

For `plinth diff ENV --rev REV` the revision's files are exported with `git archive`
(read-only: the repository, its index and its worktrees are left alone) into a temporary
directory, and that revision's own code synthesizes them in a subprocess, so that a change
to components or stacks shows up as well as a change to the environment file.

The subprocess runs that code and no other. Plinth is installed in editable mode, whose
import hook serves the project's packages (`plinth.plan.SOURCE_DIRS`) from the current
checkout: any module the old revision lacks would come from there, mixing two
revisions (and failing with an ImportError when the two disagree). So the interpreter
starts isolated (`python -I`: no PYTHONPATH, no user site, no current directory on the
path), a bootstrap drops the editable install's finders, looks the project's top-level
packages up in the export only (a module the export lacks is missing, not borrowed),
checks that `plinth` now comes from the export, and only then runs its `plinth.cli`.
Third-party packages (pulumi, the providers) are this environment's: the revision's own
pins are not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from plinth.chart_sources import chart_source_environment
from plinth.environments import project_root
from plinth.plan import SOURCE_DIRS, read_plan
from stacks.config import ConfigError

GIT_TIMEOUT_S = 60
SYNTH_TIMEOUT_S = 600


class RevisionSynthError(RuntimeError):
    """A subprocess synthesis failed; the message ends with its last error line."""


def plan_at_revision(root: Path, environment: str, revision: str) -> list[dict[str, Any]]:
    """The plan entries of `environment` as the project at `revision` synthesizes it."""
    prefix = _git(root, "rev-parse", "--show-prefix", error=f"{root} is not a git repository")
    commit = _git(
        root,
        "rev-parse",
        "--verify",
        "--quiet",
        f"{revision}^{{commit}}",
        error=f"unknown git revision {revision!r}: give a commit, branch or tag (see git log)",
    )
    _git(
        root,
        "cat-file",
        "-e",
        f"{commit}:{prefix}plinth/cli.py",
        error=f"{revision} has no plinth/cli.py (it predates plinth synth): pick a later revision",
    )
    environment_file = f"environments/Pulumi.{environment}.yaml"
    _git(
        root,
        "cat-file",
        "-e",
        f"{commit}:{prefix}{environment_file}",
        error=f"{environment_file} does not exist at {revision}: pick a later revision",
    )
    with tempfile.TemporaryDirectory(prefix="plinth-rev-") as scratch:
        tree = Path(scratch) / "tree"
        _export(root, f"{commit}:{prefix}" if prefix else commit, tree)
        return synthesize_in_subprocess(tree, environment, f"{environment} at {revision}")


def _git(root: Path, *args: str, error: str) -> str:
    try:
        result = subprocess.run(  # noqa: S603 (fixed git arguments, no shell)
            ["git", "-C", str(root), *args],  # noqa: S607 (git from PATH, as a user runs it)
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT_S,
        )
    except FileNotFoundError:
        raise ConfigError(f"{error} (git is not installed)") from None
    if result.returncode != 0:
        raise ConfigError(error)
    return result.stdout.strip()


def _export(root: Path, tree_ish: str, destination: Path) -> None:
    archive = destination.with_suffix(".tar")
    with archive.open("wb") as out:
        subprocess.run(  # noqa: S603 (fixed git arguments, no shell)
            ["git", "-C", str(root), "archive", "--format=tar", tree_ish],  # noqa: S607
            stdout=out,
            check=True,
            timeout=GIT_TIMEOUT_S,
        )
    destination.mkdir()
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(destination, filter="data")
        else:  # Python before 3.11.4; the archive is the user's own repository
            tar.extractall(destination)  # noqa: S202
    archive.unlink()


def synthesize_in_subprocess(tree: Path, environment: str, label: str) -> list[dict[str, Any]]:
    """Run `plinth synth` of the project in `tree` (its own code) on its own files; the plan
    entries. `label` names the run in the error raised when it fails."""
    with tempfile.TemporaryDirectory(prefix="plinth-synth-") as scratch:
        return _synthesize(tree, environment, label, Path(scratch) / "out")


# Runs first in the subprocess (`python -I -c`), before anything of the project is
# imported; argv: the exported tree, then `plinth` arguments. The project's top-level
# packages are looked up in the tree and nowhere else (an installed copy, editable or
# not, is never used); their submodules then follow the tree's package paths.
_ISOLATED_BOOTSTRAP = """
import importlib.machinery, os, runpy, sys
tree = sys.argv[1]
project = set(sys.argv[2].split(","))

class TreeOnly:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in project:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, [tree])
        if spec is None:
            raise ModuleNotFoundError(name + " is not part of this revision", name=name)
        return spec

editable = lambda hook: getattr(hook, "__module__", "").startswith("__editable__")
sys.meta_path[:] = [TreeOnly] + [f for f in sys.meta_path if not editable(f)]
sys.path_hooks[:] = [hook for hook in sys.path_hooks if not editable(hook)]
sys.path[:] = [tree] + [entry for entry in sys.path if not entry.startswith("__editable__")]
sys.path_importer_cache.clear()
import plinth
if os.path.dirname(os.path.dirname(os.path.abspath(plinth.__file__))) != tree:
    sys.exit("plinth was imported from " + plinth.__file__ + ", not from " + tree)
sys.argv = ["plinth", *sys.argv[3:]]
runpy.run_module("plinth.cli", run_name="__main__", alter_sys=True)
"""


def isolated_command(tree: Path, *plinth_args: str) -> list[str]:
    """The command that runs `plinth PLINTH_ARGS` with the code in `tree` and no other."""
    packages = ",".join(SOURCE_DIRS)
    bootstrap = [sys.executable, "-I", "-c", _ISOLATED_BOOTSTRAP, str(tree.resolve()), packages]
    return [*bootstrap, *plinth_args]


def _synthesize(tree: Path, environment: str, label: str, out_dir: Path) -> list[dict[str, Any]]:
    # The export lives in a scratch folder, away from the checkout's `../shared/upstream`:
    # it renders its charts from the same source as the working tree, never the network
    # unless PLINTH_CHARTS says so.
    child_env = {
        **os.environ,
        **chart_source_environment(project_root()),
        "PLINTH_PROJECT_DIR": str(tree.resolve()),
    }
    command = isolated_command(tree, "synth", environment, "--out", str(out_dir))
    result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        command,
        cwd=tree,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=SYNTH_TIMEOUT_S,
    )
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {result.returncode}"
        raise RevisionSynthError(f"{label}: plinth synth failed: {last}")
    return read_plan(out_dir / "plan.json", environment)
