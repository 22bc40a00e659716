"""The change under test replaces nothing, in any environment, unless it says so.

Each environment's plan is compared, by `plinth diff --rev`'s rules (aliases, force-new
fields, provider changes), with the same environment at the base revision: the branch
point from main (`git merge-base HEAD main`), or the previous commit when the work tree is
main itself, or `PLINTH_REPLACEMENT_BASE`. Every replaced resource must be listed with its
reason in `stacks/migrations.py` EXPECTED_REPLACEMENTS (the pulumi-eks "no replacements
on upgrade" test, for every change).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stacks.migrations import EXPECTED_REPLACEMENTS
from tests.conftest import ENVIRONMENTS, ROOT


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def base_revision() -> str:
    """The revision the change is compared with (see the module docstring)."""
    if os.environ.get("PLINTH_REPLACEMENT_BASE"):
        return os.environ["PLINTH_REPLACEMENT_BASE"]
    head = git("rev-parse", "HEAD")
    branch_point = git("merge-base", "HEAD", "main")
    if branch_point and branch_point != head:
        return branch_point
    return git("rev-parse", "HEAD~1")


BASE = base_revision()
pytestmark = pytest.mark.skipif(
    not BASE, reason="no git history to compare with (a source archive, not a clone)"
)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_change_replaces_nothing_unlisted(environment: str) -> None:
    existed = subprocess.run(
        ["git", "cat-file", "-e", f"{BASE}:environments/Pulumi.{environment}.yaml"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if existed.returncode != 0:
        pytest.skip(f"{environment} is new since {BASE[:12]}: it has nothing to replace")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "plinth.cli",
            "diff",
            environment,
            "--rev",
            BASE,
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 3), result.stderr
    changes = json.loads(result.stdout)["changes"]
    replaced = {c["urn"].rsplit("::", 1)[-1] for c in changes if c["action"] == "replace"}
    unlisted = sorted(replaced - set(EXPECTED_REPLACEMENTS))
    assert not unlisted, (
        f"{environment}: replaced since {BASE[:12]} without an entry in "
        f"stacks/migrations.py EXPECTED_REPLACEMENTS: {', '.join(unlisted)}"
    )
