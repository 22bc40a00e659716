"""`plinth synth`: validate an environment, run the program offline, render its charts and
CRD files into the objects they deploy, write the plan."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plinth.chart_sources import resolve_source
from plinth.engine import run_program
from plinth.environments import Environment, load_environment, project_root
from plinth.helm import HelmUnavailableError
from plinth.plan import plan_document, plan_inputs, write_plan
from plinth.rendering import expand_plan


def program_entries(root: Path, environment: Environment) -> list[dict[str, Any]]:
    """Every resource `environment` deploys: the program's, and each object its charts and
    CRD files render (raises HelmUnavailableError when charts cannot be rendered here)."""
    transforms: dict[str, list[Callable[..., Any]]] = {}
    entries = run_program(root, environment, transforms)
    expansion = expand_plan(
        entries,
        kubernetes_version=str(environment.platform.cluster.kubernetes_version),
        source=resolve_source(root),
        transforms=transforms,
    )
    return sorted([*entries, *expansion.entries], key=lambda entry: str(entry["urn"]))


def synthesize(environment: str, out: Path | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """Synthesize `environment` into `out` (default `out/<environment>`); the plan entries.

    Where the Helm engine cannot run, the plan is written without the charts' objects and
    marked incomplete (`plinth check` refuses it), and one line says why.
    """
    root = project_root()
    loaded = load_environment(root, environment)
    incomplete = None
    try:
        entries = program_entries(root, loaded)
    except HelmUnavailableError as error:
        incomplete = f"charts not rendered: {error}"
        print(f"plinth: warning: {incomplete}", file=sys.stderr)
        entries = run_program(root, loaded)
    out_dir = out if out is not None else root / "out" / environment
    inputs = plan_inputs(root, loaded.path)
    write_plan(out_dir, plan_document(environment, entries, inputs, incomplete=incomplete))
    return out_dir, entries
