"""`plinth`: the offline engine's command line.

    plinth synth ENV [--out DIR]   run the program under mocks; write plan.json + manifests/
    plinth graph ENV [--out DIR]   draw the environment's components and their dependencies
    plinth check ENV [--format table|markdown|json|sarif] [--output FILE]
                                   run the policy pack on the environment's plan
    plinth policy-config ENV       print the --policy-pack-config file for `pulumi preview`
    plinth diff ENV OTHER_ENV | ENV --rev GITREV [--format text|json]
                                   what changes, and which changes replace stateful resources
    plinth bootstrap aws --region R --bucket B [--kms-alias alias/NAME]
                                   create the S3 state bucket and KMS secrets key Pulumi needs
    plinth preflight ENV           read-only AWS checks of an eks environment before a deploy

Exit codes: 0 success, 1 the program failed, `check` found a mandatory violation or
`preflight` a failing check (or AWS itself failed), 2 bad input (configuration, policy
config, arguments, git revision, AWS credentials or permissions, a bucket name taken),
3 `diff` found a stateful resource (volume, bucket, database, key) that would be replaced
or deleted with its data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plinth.aws_session import AwsError, AwsServiceError
from plinth.bootstrap import DEFAULT_KMS_ALIAS, bootstrap_aws
from plinth.graph import GraphRenderError, write_graphs
from plinth.plan import format_summary
from plinth.synth import synthesize
from stacks.config import ConfigError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STATEFUL_REPLACEMENT = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `plinth` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as error:
        print(f"plinth: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AwsError as error:
        print(f"plinth: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (GraphRenderError, AwsServiceError) as error:
        print(f"plinth: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader (`| head`) stopped early: not an error of ours; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
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
    diff = commands.add_parser(
        "diff", help="compare two environments, or one with itself at a git revision"
    )
    diff.add_argument("environment", metavar="ENV", help="environments/Pulumi.ENV.yaml")
    diff.add_argument("other", metavar="OTHER_ENV", nargs="?", help="compare ENV with it")
    diff.add_argument("--rev", metavar="GITREV", help="compare ENV at GITREV with the work tree")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(run=_diff)
    bootstrap = commands.add_parser(
        "bootstrap", help="create what Pulumi needs before the first stack (state, secrets key)"
    )
    clouds = bootstrap.add_subparsers(required=True, metavar="CLOUD")
    bootstrap_aws = clouds.add_parser(
        "aws", help="S3 bucket for Pulumi state and KMS key for stack secrets (idempotent)"
    )
    bootstrap_aws.add_argument("--region", required=True, help="AWS region, e.g. eu-west-1")
    bootstrap_aws.add_argument(
        "--bucket", required=True, help="S3 bucket for the state (a globally unique name)"
    )
    bootstrap_aws.add_argument(
        "--kms-alias",
        default=DEFAULT_KMS_ALIAS,
        help="alias of the KMS key for secrets, created if missing (default: %(default)s)",
    )
    bootstrap_aws.set_defaults(run=_bootstrap_aws)
    preflight = commands.add_parser(
        "preflight", help="read-only AWS checks of an eks environment; exit 1 if one fails"
    )
    preflight.add_argument("environment", metavar="ENV", help="environments/Pulumi.ENV.yaml")
    preflight.set_defaults(run=_preflight)
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


def _diff(args: argparse.Namespace) -> int:
    from plinth.diff import diff_plans  # noqa: PLC0415
    from plinth.diff_report import diff_document, format_diff  # noqa: PLC0415
    from plinth.revision import RevisionSynthError  # noqa: PLC0415
    from stacks.migrations import DATA_MIGRATED  # noqa: PLC0415

    if (args.other is None) == (args.rev is None):
        raise ConfigError("diff: give a second environment or --rev GITREV (one of the two)")
    try:
        before_label, before, after_label, after = _diff_sides(args)
    except RevisionSynthError as error:
        print(f"plinth: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    # Two environments are two deployments: nothing of one replaces or deletes the other.
    # The work tree's migrations say which data losses are intended.
    result = diff_plans(
        before, after, between_environments=args.other is not None, migrated=DATA_MIGRATED
    )
    if args.format == "json":
        print(json.dumps(diff_document(result, before_label, after_label), indent=2))
    else:
        print(format_diff(result, before_label, after_label))
    return EXIT_STATEFUL_REPLACEMENT if result.data_losses else 0


def _bootstrap_aws(args: argparse.Namespace) -> int:
    print(bootstrap_aws(args.region, args.bucket, args.kms_alias).report(), end="")
    return 0


def _preflight(args: argparse.Namespace) -> int:
    from plinth.environments import load_environment, project_root  # noqa: PLC0415
    from plinth.preflight import preflight_environment  # noqa: PLC0415

    report, passed = preflight_environment(load_environment(project_root(), args.environment))
    print(report, end="")
    return 0 if passed else EXIT_FAILED


def _diff_sides(args: argparse.Namespace) -> tuple[str, list[Any], str, list[Any]]:
    """(label, plan entries) before and after. Another revision runs its own code in a
    subprocess; environment files are checked first, so a bad one fails in a second."""
    from plinth.diff import align_environment  # noqa: PLC0415
    from plinth.environments import load_environment, project_root  # noqa: PLC0415
    from plinth.revision import plan_at_revision  # noqa: PLC0415

    root = project_root()
    load_environment(root, args.environment)
    with tempfile.TemporaryDirectory(prefix="plinth-diff-") as scratch:
        if args.rev is not None:
            before = plan_at_revision(root, args.environment, args.rev)
            _, after = synthesize(args.environment, Path(scratch) / "after")
            return f"{args.environment}@{args.rev}", before, args.environment, after
        load_environment(root, args.other)
        _, first = synthesize(args.environment, Path(scratch) / "before")
        _, after = synthesize(args.other, Path(scratch) / "after")
        before = align_environment(first, args.environment, args.other)
        return args.environment, before, args.other, after


if __name__ == "__main__":
    sys.exit(main())
