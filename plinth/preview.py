"""`plinth preview ENV`: what `make preview` shows, in one process.

It prints what `plinth synth ENV` prints for each component (not its next step: the
check it suggests follows) and then what `plinth check ENV --plan out/ENV/plan.json`
prints, and writes the same plan.json and manifests/, but imports the SDKs once and hands
synth's entries to the pack instead of writing and re-reading them.
On a terminal, one status line says which component, chart or resource it is at
(plinth/progress.py).
"""

from __future__ import annotations

from pathlib import Path

from plinth.check import CheckReport, environment_policy, review
from plinth.environments import load_environment, project_root
from plinth.plan import format_summary
from plinth.progress import Progress
from plinth.report import render_table
from plinth.synth import synthesize_environment
from stacks.config import ConfigError


def preview(
    environment: str, out: Path | None = None, progress: Progress | None = None
) -> CheckReport:
    """Synthesize `environment` into `out` (default out/ENV), print what it deploys, run the
    pack on it and print the verdict; the verdict."""
    progress = progress if progress is not None else Progress()
    root = project_root()
    loaded = load_environment(root, environment)
    # Bad policy config fails before anything runs or is written, as in `plinth check`.
    policy = environment_policy(loaded)
    synthesis = synthesize_environment(root, loaded, out, progress)
    progress.clear()
    print(format_summary(environment, synthesis.entries, synthesis.out_dir), flush=True)
    if synthesis.incomplete:
        raise ConfigError(
            f"review incomplete, refusing it: {synthesis.incomplete}; run plinth preview "
            f"{environment} where the Helm engine installs"
        )
    report = review(root, environment, loaded, synthesis.entries, policy, progress=progress)
    progress.clear()
    print(render_table(report), end="")
    return report
