"""`plinth synth ENV DIR` without rendering charts and CRD files: the baseline from which
`make bench` measures what rendering adds to synth. For benchmarking only: a plan written
this way is marked incomplete, and `plinth check` refuses it.

    .venv/bin/python bench/synth_unrendered.py ENV OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from plinth.engine import run_program
from plinth.environments import load_environment, project_root
from plinth.plan import plan_document, write_plan


def main(environment: str, out_dir: Path) -> None:
    """Run the program under mocks and write its plan, charts unrendered."""
    root = project_root()
    entries = run_program(root, load_environment(root, environment))
    write_plan(out_dir, plan_document(environment, entries, incomplete="bench baseline"))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
