"""`plinth`: the offline engine's command line.

    plinth synth ENV [--out DIR]   run the program under mocks; write plan.json + manifests/
    plinth graph ENV [--out DIR]   draw the environment's components and their dependencies

Exit codes: 0 success, 1 the program failed, 2 bad input (configuration, arguments).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from plinth.graph import GraphRenderError, write_graphs
from plinth.plan import format_summary
from plinth.synth import synthesize
from stacks.config import ConfigError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `plinth` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as error:
        print(f"plinth: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except GraphRenderError as error:
        print(f"plinth: error: {error}", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plinth", description="Plinth's offline engine.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    synth = commands.add_parser("synth", help="run the program offline; write plan and manifests")
    synth.add_argument("environment", metavar="ENV", help="environments/Pulumi.ENV.yaml")
    synth.add_argument("--out", type=Path, help="output directory (default: out/ENV)")
    synth.set_defaults(run=_synth)
    graph = commands.add_parser("graph", help="draw components and dependencies (Mermaid, dot)")
    graph.add_argument("environment", metavar="ENV", help="environments/Pulumi.ENV.yaml")
    graph.add_argument("--out", type=Path, help="output directory (default: out/ENV)")
    graph.set_defaults(run=_graph)
    return parser


def _synth(args: argparse.Namespace) -> int:
    out_dir, entries = synthesize(args.environment, args.out)
    print(format_summary(args.environment, entries, out_dir))
    return 0


def _graph(args: argparse.Namespace) -> int:
    out_dir, entries = synthesize(args.environment, args.out)
    for path in write_graphs(out_dir, entries):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
