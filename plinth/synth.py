"""`plinth synth`: validate an environment, run the program offline, write the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plinth.engine import run_program
from plinth.environments import load_environment, project_root
from plinth.plan import plan_document, write_plan


def synthesize(environment: str, out: Path | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """Synthesize `environment` into `out` (default `out/<environment>`); the plan entries."""
    root = project_root()
    loaded = load_environment(root, environment)
    entries = run_program(root, loaded)
    out_dir = out if out is not None else root / "out" / environment
    write_plan(out_dir, plan_document(environment, entries))
    return out_dir, entries
