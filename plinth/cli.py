"""`plinth`: the offline engine's command line.

    plinth synth ENV [--out DIR]   run the program under mocks; write plan.json + manifests/
    plinth graph ENV [--out DIR]   draw the environment's components and their dependencies
    plinth check ENV [--format table|markdown|json|sarif] [--output FILE]
                                   run the policy pack on the environment's plan
    plinth policy-config ENV       print the --policy-pack-config file for `pulumi preview`

Exit codes: 0 success, 1 the program failed or `check` found a mandatory violation,
2 bad input (configuration, policy config, arguments).
"""

from __future__ import annotations

import argparse
import json
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
    check = commands.add_parser("check", help="run the policy pack offline; exit 1 if blocked")
    check.add_argument("environment", metavar="ENV", help="environments/Pulumi.ENV.yaml")
    check.add_argument("--plan", type=Path, help="check this plan.json instead of synthesizing")
    check.add_argument(
        "--policy-config",
        type=Path,
        help="a --policy-pack-config file to use instead of the tier's and the waivers",
    )
    check.add_argument("--format", choices=("table", "markdown", "json", "sarif"), default="table")
    check.add_argument("--output", type=Path, help="write the report here (default: stdout)")
    check.set_defaults(run=_check)
    policy_config = commands.add_parser(
        "policy-config", help="print the policy config of ENV for pulumi --policy-pack-config"
    )
    policy_config.add_argument("environment", metavar="ENV", help="environments/Pulumi.ENV.yaml")
    policy_config.set_defaults(run=_policy_config)
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


def _check(args: argparse.Namespace) -> int:
    # Imported here: the pack's imports are not needed by the other commands.
    from plinth.check import check_environment  # noqa: PLC0415
    from plinth.report import RENDERERS, render_table  # noqa: PLC0415

    report = check_environment(args.environment, plan=args.plan, policy_config=args.policy_config)
    rendered = RENDERERS[args.format](report)
    if args.output is None:
        print(rendered, end="")
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(rendered, encoding="utf-8")
        print(render_table(report), end="")
        print(f"wrote {args.output}")
    return EXIT_FAILED if report.mandatory else 0


def _policy_config(args: argparse.Namespace) -> int:
    from plinth.check import environment_policy_config  # noqa: PLC0415
    from plinth.environments import load_environment, project_root  # noqa: PLC0415

    config, _ = environment_policy_config(load_environment(project_root(), args.environment))
    print(json.dumps(config, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
