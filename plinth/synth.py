"""`plinth synth`: validate an environment, run the program offline, render its charts and
CRD files into the objects they deploy, write the plan."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plinth.chart_sources import resolve_source
from plinth.engine import run_program
from plinth.environments import Environment, load_environment, project_root
from plinth.helm import HelmUnavailableError
from plinth.plan import plan_document, plan_inputs, write_plan
from plinth.progress import silent
from plinth.rendering import expand_plan


def program_entries(
    root: Path, environment: Environment, progress: Callable[[str], None] = silent
) -> list[dict[str, Any]]:
    """Every resource `environment` deploys: the program's, and each object its charts and
    CRD files render (raises HelmUnavailableError when charts cannot be rendered here)."""
    transforms: dict[str, list[Callable[..., Any]]] = {}
    entries = run_program(root, environment, transforms, progress)
    expansion = expand_plan(
        entries,
        kubernetes_version=str(environment.platform.cluster.kubernetes_version),
        source=resolve_source(root),
        transforms=transforms,
        progress=progress,
    )
    return sorted([*entries, *expansion.entries], key=lambda entry: str(entry["urn"]))


@dataclass(frozen=True)
class Synthesis:
    """What `plinth synth` wrote: where, the plan's entries, and what the plan lacks."""

    out_dir: Path
    entries: list[dict[str, Any]]
    incomplete: str | None = None


def synthesize_environment(
    root: Path,
    environment: Environment,
    out: Path | None = None,
    progress: Callable[[str], None] = silent,
) -> Synthesis:
    """Synthesize the loaded `environment` into `out` (default `out/<environment>`).

    Where the Helm engine cannot run, the plan is written without the charts' objects and
    marked incomplete (`plinth check` refuses it), and one line says why.
    """
    incomplete = None
    try:
        entries = program_entries(root, environment, progress)
    except HelmUnavailableError as error:
        incomplete = f"charts not rendered: {error}"
        print(f"plinth: warning: {incomplete}", file=sys.stderr)
        entries = run_program(root, environment, progress=progress)
    out_dir = out if out is not None else root / "out" / environment.name
    progress(f"writing {out_dir}")
    inputs = plan_inputs(root, environment.path)
    document = plan_document(environment.name, entries, inputs, incomplete=incomplete)
    write_plan(out_dir, document)
    return Synthesis(out_dir, entries, incomplete)


def synthesize(environment: str, out: Path | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """Synthesize `environment` into `out` (default `out/<environment>`); the plan entries."""
    root = project_root()
    synthesis = synthesize_environment(root, load_environment(root, environment), out)
    return synthesis.out_dir, synthesis.entries
