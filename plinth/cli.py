"""`plinth`: the offline engine's command line.

    plinth synth ENV [--out DIR]   run the program under mocks; write plan.json + manifests/
    plinth preview ENV [--out DIR] synth, then check that plan, in one process (make preview)
    plinth graph ENV [--out DIR]   draw the environment's components and their dependencies
    plinth check ENV [--format table|markdown|json|sarif] [--output FILE]
                                   run the policy pack on the environment's plan
    plinth policy-config ENV       print the --policy-pack-config file for `pulumi preview`
    plinth diff ENV OTHER_ENV | ENV --rev GITREV [--format text|json]
                                   what changes, by component, and which changes replace
                                   stateful resources
    plinth bootstrap aws --region R --bucket B [--kms-alias alias/NAME]
                                   create the S3 state bucket and KMS secrets key Pulumi needs
    plinth bootstrap azure --subscription ID --location L [--storage-account A ...]
                                   create the Blob state container and Key Vault key Pulumi needs
    plinth preflight ENV           read-only cloud checks of an eks or aks environment before a
                                   deploy
    plinth --version               the installed package's version

ENV is an environment's name (`prod`) or its file (`environments/Pulumi.prod.yaml`); an
unknown name is answered with the closest one. Every command's --help has examples and
exit codes (plinth/cli_help.py).

Exit codes: 0 success, 1 the program failed, `check` found a mandatory violation or
`preflight` a failing check (or AWS or Azure itself failed), 2 bad input (configuration,
policy config, arguments, git revision, AWS or Azure credentials or permissions, a bucket,
storage account or vault name taken),
3 `diff` found a stateful resource (volume, bucket, database, key) that would be replaced
or deleted with its data, 130 interrupted (Ctrl-C). Every error is one line on stderr,
`plinth: error: ...`; text the user gave (names, paths) is printed with control characters
escaped, so it stays one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from plinth.cli_help import (
    COMMANDS,
    ENV_HELP,
    TOP_LEVEL_EPILOG,
    formatter,
    top_level_description,
)
from plinth.heap import defer_collection_to_exit
from stacks.text import escape_controls

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STATEFUL_REPLACEMENT = 3
MAX_PLAN_BYTES = 64 * 1024 * 1024  # ten times the largest plan today
MAX_POLICY_CONFIG_BYTES = 1024 * 1024
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C
# Unicode categories no path or name should carry: control characters and the lone
# surrogates that stand for bytes that are not UTF-8 (an argument in another encoding).
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs"})


class UsageError(ValueError):
    """The command line itself is wrong (unknown option, missing argument, bad value)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors raised as one-line UsageErrors instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("plinth: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run() -> int:
    """Entry point of the `plinth` console script: `main` in a process of its own, with
    the garbage collector held off (half the CPU time otherwise: plinth/heap.py)."""
    defer_collection_to_exit()
    return main()


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # --help or --version printed; errors raise UsageError instead
        return stop.code if isinstance(stop.code, int) else 0
    except UsageError as error:
        return _report(error, EXIT_BAD_INPUT)
    # Imported here, after parsing and inside main's Ctrl-C handling: Pulumi and boto take
    # half a second to import, which --help and --version do without; every other import
    # of this module is the standard library's.
    from plinth.aws_session import AwsError, AwsServiceError  # noqa: PLC0415
    from plinth.azure_session import AzureError, AzureServiceError  # noqa: PLC0415
    from plinth.graph import GraphRenderError  # noqa: PLC0415
    from stacks.config import ConfigError  # noqa: PLC0415

    try:
        _environment_names(args)
        return int(args.run(args))
    except (ConfigError, AwsError, AzureError) as error:
        return _report(error, EXIT_BAD_INPUT)
    except (GraphRenderError, AwsServiceError, AzureServiceError) as error:
        return _report(error, EXIT_FAILED)
    except BrokenPipeError:
        # The reader (`| head`) stopped early: not an error of ours; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def _report(error: Exception, exit_code: int) -> int:
    print(f"plinth: error: {escape_controls(str(error))}", file=sys.stderr)
    return exit_code


# --- environment arguments, --version and synth's next step -----------------------------


def _environment_names(args: argparse.Namespace) -> None:
    """ENV (and diff's OTHER_ENV) as environment names, when given as files."""
    from plinth.environments import environment_name  # noqa: PLC0415

    for attribute in ("environment", "other"):
        given = getattr(args, attribute, None)
        if given is not None:
            setattr(args, attribute, environment_name(given))


class _VersionAction(argparse.Action):
    """`--version`: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(  # argparse's Action signature: only the parser is needed here
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,  # noqa: ARG002
        values: object,  # noqa: ARG002
        option_string: str | None = None,  # noqa: ARG002
    ) -> NoReturn:
        print(f"plinth {package_version()}")
        parser.exit()


def package_version() -> str:
    """The version of the installed `plinth` distribution (pyproject.toml's, once installed)."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("plinth")
    except PackageNotFoundError:
        return "(not installed: run make install)"


def _next_step(environment: str, out_dir: Path, *, blocked: bool | None = None) -> str:
    """What synth (`blocked` None: not checked yet) or preview (checked: `blocked` when a
    mandatory rule failed) suggests next: the policy check on the plan, or fixing what it
    blocked on, then the Pulumi CLI, whose stack ENV has environments/Pulumi.ENV.yaml as
    its settings file."""
    from plinth.environments import environment_file  # noqa: PLC0415

    plan = out_dir / "plan.json"
    here = Path.cwd()
    shown = plan.relative_to(here) if plan.is_relative_to(here) else plan
    first = {
        None: f"plinth check {environment} --plan {shown} (the policy pack), then ",
        True: "fix the mandatory findings above and preview again, then ",
        False: "",
    }[blocked]
    return (
        f"next: {first}pulumi up -s {environment}, which runs the policy pack again with "
        f"--policy-pack policies --policy-pack-config <(plinth policy-config {environment})\n"
        f"      stack {environment}'s settings file is {environment_file(environment)} "
        f"(Pulumi.yaml: stackConfigDir); a new stack needs pulumi stack init {environment} "
        "first, which records a passphrase or KMS secrets provider in that file: commit it"
    )


# ----------------------------------------------------------------------------------------


def _path_argument(text: str) -> Path:
    """A path given on the command line: not empty, no control characters or stray bytes."""
    if not text:
        raise argparse.ArgumentTypeError("is empty; give a path")
    if any(unicodedata.category(char) in UNPRINTABLE_CATEGORIES for char in text):
        raise argparse.ArgumentTypeError(
            f"{escape_controls(text)} holds control characters or bytes that are not UTF-8; "
            "use a plain path"
        )
    return Path(text)


def _revision_argument(text: str) -> str:
    """A git revision: not empty, not an option (`-...`), no control characters."""
    if not text or text.startswith("-"):
        raise argparse.ArgumentTypeError(
            f"{escape_controls(text)!r} is not a git revision; give a commit, branch or tag"
        )
    if any(unicodedata.category(char) in UNPRINTABLE_CATEGORIES for char in text):
        raise argparse.ArgumentTypeError(f"{escape_controls(text)} holds control characters")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="plinth",
        usage="plinth [-h] [--version] COMMAND ...",
        epilog=TOP_LEVEL_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the installed version and exit"
    )
    # The commands are listed in the description, aligned (argparse's own list misplaces
    # a long name); tests/plinth/test_cli_help.py checks that every command is there.
    commands = parser.add_subparsers(required=True, metavar="COMMAND", help=argparse.SUPPRESS)
    synth = commands.add_parser("synth", **COMMANDS["synth"].parser_arguments())
    synth.add_argument("environment", metavar="ENV", help=ENV_HELP)
    synth.add_argument("--out", type=_path_argument, help="output directory (default: out/ENV)")
    synth.set_defaults(run=_synth)
    preview = commands.add_parser("preview", **COMMANDS["preview"].parser_arguments())
    preview.add_argument("environment", metavar="ENV", help=ENV_HELP)
    preview.add_argument("--out", type=_path_argument, help="output directory (default: out/ENV)")
    preview.set_defaults(run=_preview)
    graph = commands.add_parser("graph", **COMMANDS["graph"].parser_arguments())
    graph.add_argument("environment", metavar="ENV", help=ENV_HELP)
    graph.add_argument("--out", type=_path_argument, help="output directory (default: out/ENV)")
    graph.set_defaults(run=_graph)
    check = commands.add_parser("check", **COMMANDS["check"].parser_arguments())
    check.add_argument("environment", metavar="ENV", help=ENV_HELP)
    check.add_argument(
        "--plan", type=_path_argument, help="check this plan.json instead of synthesizing"
    )
    check.add_argument(
        "--policy-config",
        type=_path_argument,
        help="a --policy-pack-config file to use instead of the tier's and the waivers",
    )
    check.add_argument("--format", choices=("table", "markdown", "json", "sarif"), default="table")
    check.add_argument(
        "--output", type=_path_argument, help="write the report here (default: stdout)"
    )
    check.set_defaults(run=_check)
    policy_config = commands.add_parser(
        "policy-config", **COMMANDS["policy-config"].parser_arguments()
    )
    policy_config.add_argument("environment", metavar="ENV", help=ENV_HELP)
    policy_config.set_defaults(run=_policy_config)
    diff = commands.add_parser("diff", **COMMANDS["diff"].parser_arguments())
    diff.add_argument("environment", metavar="ENV", help=ENV_HELP)
    diff.add_argument(
        "other", metavar="OTHER_ENV", nargs="?", help="another environment to compare ENV with"
    )
    diff.add_argument(
        "--rev",
        metavar="GITREV",
        type=_revision_argument,
        help="compare ENV at GITREV with the work tree",
    )
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(run=_diff)
    bootstrap = commands.add_parser("bootstrap", **COMMANDS["bootstrap"].parser_arguments())
    clouds = bootstrap.add_subparsers(required=True, metavar="CLOUD", title="clouds")
    bootstrap_aws = clouds.add_parser("aws", **COMMANDS["bootstrap aws"].parser_arguments())
    bootstrap_aws.add_argument("--region", required=True, help="AWS region, e.g. eu-west-1")
    bootstrap_aws.add_argument(
        "--bucket", required=True, help="S3 bucket for the state (a globally unique name)"
    )
    bootstrap_aws.add_argument(
        "--kms-alias",
        # Resolved when the command runs: plinth.bootstrap imports botocore and Pulumi,
        # which --help does without (tests/plinth/test_cli_help.py checks the default shown).
        help="alias of the KMS key for secrets, created if missing "
        "(default: alias/plinth-pulumi-secrets)",
    )
    bootstrap_aws.set_defaults(run=_bootstrap_aws)
    bootstrap_azure = clouds.add_parser("azure", **COMMANDS["bootstrap azure"].parser_arguments())
    bootstrap_azure.add_argument(
        "--subscription", required=True, help="subscription id (a GUID) to create them in"
    )
    bootstrap_azure.add_argument("--location", required=True, help="Azure region, e.g. westeurope")
    # Defaults resolved when the command runs (plinth/bootstrap_azure.py), as for aws.
    for flag, default in (
        ("--resource-group", "plinth-pulumi-state"),
        ("--storage-account", "plinthstate + 10 hex digits of the subscription's hash"),
        ("--container", "pulumi-state"),
        ("--key-vault", "plinth-kv- + 10 hex digits of the subscription's hash"),
        ("--key", "pulumi-secrets"),
    ):
        bootstrap_azure.add_argument(flag, help=f"created if missing (default: {default})")
    bootstrap_azure.set_defaults(run=_bootstrap_azure)
    preflight = commands.add_parser("preflight", **COMMANDS["preflight"].parser_arguments())
    preflight.add_argument("environment", metavar="ENV", help=ENV_HELP)
    preflight.set_defaults(run=_preflight)
    parser.description = top_level_description(list(commands.choices))
    return parser


def _synth(args: argparse.Namespace) -> int:
    from plinth.plan import format_summary  # noqa: PLC0415
    from plinth.synth import synthesize  # noqa: PLC0415

    _refuse_early(args.out)
    out_dir, entries = synthesize(args.environment, args.out)
    print(format_summary(args.environment, entries, out_dir))
    print(_next_step(args.environment, out_dir))
    return 0


def _preview(args: argparse.Namespace) -> int:
    from plinth.preview import preview  # noqa: PLC0415

    _refuse_early(args.out)
    from plinth.environments import project_root  # noqa: PLC0415

    report = preview(args.environment, args.out)
    out_dir = args.out if args.out is not None else project_root() / "out" / args.environment
    print(_next_step(args.environment, out_dir, blocked=bool(report.mandatory)))
    return EXIT_FAILED if report.mandatory else 0


def _graph(args: argparse.Namespace) -> int:
    from plinth.graph import write_graphs  # noqa: PLC0415
    from plinth.synth import synthesize  # noqa: PLC0415

    _refuse_early(args.out)
    out_dir, entries = synthesize(args.environment, args.out)
    for path in write_graphs(out_dir, entries):
        print(f"wrote {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    # Imported here: the pack's imports are not needed by the other commands.
    from plinth.check import check_environment  # noqa: PLC0415
    from plinth.report import RENDERERS, render_table  # noqa: PLC0415

    if args.output is not None:
        _report_file(args.output)  # before the pack runs, not after
    _readable_json_arguments(args)
    report = check_environment(args.environment, plan=args.plan, policy_config=args.policy_config)
    rendered = RENDERERS[args.format](report)
    if args.output is None:
        print(rendered, end="")
    else:
        _write_report(args.output, rendered)
        print(render_table(report), end="")
        print(f"wrote {args.output}")
    return EXIT_FAILED if report.mandatory else 0


def _readable_json_arguments(args: argparse.Namespace) -> None:
    """A one-line error, before anything runs, when --plan or --policy-config is not a
    small UTF-8 JSON file (binary, UTF-16, too large, too deep), whoever reads it later."""
    from plinth.input_files import load_json_file  # noqa: PLC0415

    for option, path, max_bytes in (
        ("--plan", args.plan, MAX_PLAN_BYTES),
        ("--policy-config", args.policy_config, MAX_POLICY_CONFIG_BYTES),
    ):
        if path is not None and path.exists():
            load_json_file(path, f"{option} {path}", max_bytes=max_bytes)


def _refuse_early(out: Path | None) -> None:
    """Refuse an --out Plinth may not write before the program runs, not after (writing
    checks again: the directory may change meanwhile)."""
    from plinth.output import checked_output_directory  # noqa: PLC0415

    if out is not None:
        checked_output_directory(out)


def _report_file(path: Path) -> Path:
    """The absolute file `--output` names; OutputError if it is a directory or a project's own."""
    from plinth.output import OutputError, refuse_project_paths  # noqa: PLC0415

    shown = f"--output {path}"
    try:
        target = path.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop (Python < 3.13)
        raise OutputError(f"{shown}: cannot resolve it ({error})") from None
    try:
        refuse_project_paths(target, shown, instead="a file outside the project's own folders")
        if target.is_dir():
            raise OutputError(f"{shown}: is a directory; give a file name")
    except OSError as error:  # a folder on the way that may not be read
        raise OutputError(f"{shown}: cannot look into it ({error.strerror or error})") from None
    return target


def _write_report(path: Path, text: str) -> None:
    from plinth.output import OutputError, replace_file  # noqa: PLC0415

    target = _report_file(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_file(target, text)
    except OSError as error:
        raise OutputError(f"--output {path}: cannot write it ({error.strerror or error})") from None


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
    from stacks.config import ConfigError  # noqa: PLC0415
    from stacks.migrations import DATA_MIGRATED  # noqa: PLC0415

    if (args.other is None) == (args.rev is None):
        raise ConfigError("diff: give a second environment or --rev GITREV (one of the two)")
    try:
        before_label, before, after_label, after = _diff_sides(args)
    except RevisionSynthError as error:
        return _report(error, EXIT_FAILED)
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
    from plinth.bootstrap import DEFAULT_KMS_ALIAS, bootstrap_aws  # noqa: PLC0415

    kms_alias = DEFAULT_KMS_ALIAS if args.kms_alias is None else args.kms_alias
    print(bootstrap_aws(args.region, args.bucket, kms_alias).report(), end="")
    return 0


def _bootstrap_azure(args: argparse.Namespace) -> int:
    from plinth.bootstrap_azure import AzureBootstrapNames, bootstrap_azure  # noqa: PLC0415

    names = AzureBootstrapNames.derived(
        args.subscription,
        args.location,
        resource_group=args.resource_group,
        storage_account=args.storage_account,
        container=args.container,
        key_vault=args.key_vault,
        key=args.key,
    )
    print(bootstrap_azure(names).report(), end="")
    return 0


def _preflight(args: argparse.Namespace) -> int:
    from plinth.environments import load_environment, project_root  # noqa: PLC0415

    environment = load_environment(project_root(), args.environment)
    target: str = environment.platform.cluster.target
    if target == "aks":
        from plinth.preflight_azure import preflight_aks_environment  # noqa: PLC0415

        report, passed = preflight_aks_environment(environment)
    else:
        from plinth.preflight import preflight_environment  # noqa: PLC0415

        report, passed = preflight_environment(environment)
    print(report, end="")
    return 0 if passed else EXIT_FAILED


def _diff_sides(args: argparse.Namespace) -> tuple[str, list[Any], str, list[Any]]:
    """(label, plan entries) before and after. Another revision runs its own code in a
    subprocess; environment files are checked first, so a bad one fails in a second."""
    from plinth.diff import align_environment  # noqa: PLC0415
    from plinth.environments import load_environment, project_root  # noqa: PLC0415
    from plinth.revision import plan_at_revision  # noqa: PLC0415
    from plinth.synth import synthesize  # noqa: PLC0415

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
    sys.exit(run())
