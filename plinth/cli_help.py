"""What `plinth --help` and `plinth COMMAND --help` say: a one-line summary per command,
what it does, examples and its exit codes.

Apart from plinth/cli.py so that the parser there reads as a list of options; standard
library only, as the CLI imports it before anything heavy. tests/plinth/test_cli_help.py checks
that every command, present and future, has examples and exit codes.
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

INTERRUPTED = (130, "interrupted (Ctrl-C): 'plinth: interrupted'")
BAD_INPUT = "bad input: one line on stderr says what is wrong and how to fix it"
ENVIRONMENT_ARGUMENT = (
    "ENV is an environment's name (prod) or its file (environments/Pulumi.prod.yaml); an "
    "unknown name is answered with the closest one."
)
ENV_HELP = "an environment: its name (prod) or its file (environments/Pulumi.prod.yaml)"
MAX_WIDTH = 100


@dataclass(frozen=True)
class CommandHelp:
    """The help of one command: `summary` is its line in `plinth --help`; `description` is
    prose, paragraphs separated by blank lines, wrapped to the terminal."""

    summary: str
    description: str
    examples: tuple[tuple[str, str], ...]
    exit_codes: tuple[tuple[int, str], ...]

    def parser_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `add_parser`: summary, description and the epilog."""
        return {
            "help": self.summary,
            "description": fill(self.description),
            "epilog": epilog(self.examples, self.exit_codes),
            "formatter_class": formatter,
        }


def formatter(prog: str) -> argparse.HelpFormatter:
    """Descriptions and epilogs as written here (examples keep their lines)."""
    return argparse.RawDescriptionHelpFormatter(prog, width=_width())


def _width() -> int:
    # What argparse itself wraps to (the terminal less 2), at most MAX_WIDTH.
    return min(shutil.get_terminal_size().columns - 2, MAX_WIDTH)


def fill(text: str, indent: str = "") -> str:
    """`text` wrapped to the help's width, paragraph by paragraph."""
    return "\n\n".join(
        "\n".join(indent + line for line in _wrap(paragraph, _width() - len(indent)))
        for paragraph in text.split("\n\n")
    )


def _wrap(text: str, width: int) -> list[str]:
    # Paths, options and URLs stay whole, on one line.
    return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


def _summary(name: str) -> str:
    # A command without an entry in COMMANDS is still listed (tests/plinth/test_cli_help.py fails).
    return COMMANDS[name].summary if name in COMMANDS else ""


def epilog(examples: tuple[tuple[str, str], ...], exit_codes: tuple[tuple[int, str], ...]) -> str:
    """The text after the options: examples (the command, then what it does), exit codes."""
    lines = ["Examples:"]
    for command, meaning in examples:
        lines += [f"  {command}", fill(meaning, " " * 6)]
    lines += ["", "Exit codes:"]
    for code, meaning in exit_codes:
        wrapped = _wrap(meaning, _width() - 7)
        lines.append(f"  {code:<4} {wrapped[0]}")
        lines += [f"{'':7}{line}" for line in wrapped[1:]]
    return "\n".join(lines)


def top_level_description(names: Sequence[str]) -> str:
    """`plinth --help`'s text before the options: what Plinth does, and every command the
    parser has (`names`, in its order) with its summary."""
    intro = fill(
        "Plinth's command line: the whole environment offline (no cloud account, no Pulumi "
        "CLI, no cluster), its policy check, what a change does, and the AWS or Azure set-up "
        "before a first deploy.\n\n" + ENVIRONMENT_ARGUMENT + " Run `plinth COMMAND --help` for "
        "a command's options, examples and exit codes."
    )
    width = max(map(len, names))
    commands = [f"  {name:<{width}}  {_summary(name)}".rstrip() for name in names]
    return "\n".join([intro, "", "Commands:", *commands])


TOP_LEVEL_EPILOG = """\
Example session:
  plinth synth local                  write out/local/plan.json and out/local/manifests/
  plinth check local                  run the policy pack on it, as pulumi preview would
  plinth diff local --rev main        what this work tree changes against main
  plinth diff local onprem            how two environments differ
  plinth policy-config local > local-policy.json
  pulumi stack init local             once per backend, with the Pulumi CLI: stack local's
                                      settings file is environments/Pulumi.local.yaml
  pulumi preview -s local --policy-pack policies --policy-pack-config local-policy.json
  pulumi up -s local

Exit codes:
  0    success
  1    a failure: the program, a mandatory policy violation (check), a failing
       preflight check, Graphviz, AWS or Azure itself, or the other revision's synth
       (diff --rev)
  2    bad input (configuration, arguments, environment name or file, git revision,
       AWS or Azure credentials or permissions): one line on stderr, no traceback
  3    diff: a stateful resource (volume, bucket, database, key) loses its data
  130  interrupted (Ctrl-C)"""

COMMANDS: dict[str, CommandHelp] = {
    "synth": CommandHelp(
        summary="run the program offline; write the plan and manifests",
        description=(
            "Run stacks/__main__.py for ENV under Pulumi's mock engine, render its Helm charts "
            "and CRD files offline, and write DIR/plan.json (every resource with its inputs, "
            "dependencies and options) and DIR/manifests/ (every Kubernetes object). Prints "
            "one line per component, and the next step.\n\n" + ENVIRONMENT_ARGUMENT
        ),
        examples=(
            ("plinth synth local", "writes out/local/plan.json and out/local/manifests/"),
            (
                "plinth synth environments/Pulumi.prod.yaml --out /tmp/prod",
                "the prod environment, named by its file, into /tmp/prod",
            ),
        ),
        exit_codes=(
            (0, "the plan is written"),
            (1, "the program itself failed"),
            (2, BAD_INPUT + " (the environment file, --out)"),
            INTERRUPTED,
        ),
    ),
    "preview": CommandHelp(
        summary="synth, then check that plan, in one process (make preview)",
        description=(
            "What `make preview` runs: synthesize ENV as `plinth synth` does (the same "
            "DIR/plan.json and DIR/manifests/, the same lines per component), then run the "
            "policy pack on those resources as `plinth check ENV --plan DIR/plan.json` does "
            "and print its table. One process: the SDKs are imported once. On a terminal "
            "one status line says which component, chart or resource it is at.\n\n"
            + ENVIRONMENT_ARGUMENT
        ),
        examples=(
            ("plinth preview local", "writes out/local/ and prints the pack's verdict on it"),
            ("plinth preview prod --out /tmp/prod", "the prod environment, into /tmp/prod"),
        ),
        exit_codes=(
            (0, "the plan is written and has no mandatory violation"),
            (1, "the program failed, or a mandatory violation"),
            (2, BAD_INPUT + " (the environment file, --out, policy config)"),
            INTERRUPTED,
        ),
    ),
    "graph": CommandHelp(
        summary="draw components and their dependencies",
        description=(
            "Synthesize ENV and write DIR/graph.mmd (Mermaid) and DIR/graph.dot, plus "
            "DIR/graph.svg when Graphviz's `dot` is installed. synth and graph can share DIR.\n\n"
            + ENVIRONMENT_ARGUMENT
        ),
        examples=(
            ("plinth graph prod", "writes out/prod/graph.mmd, graph.dot (and graph.svg)"),
            ("plinth graph local --out /tmp/local", "into /tmp/local"),
        ),
        exit_codes=(
            (0, "the graph is written"),
            (1, "the program or Graphviz failed"),
            (2, BAD_INPUT),
            INTERRUPTED,
        ),
    ),
    "check": CommandHelp(
        summary="run the policy pack offline; exit 1 if blocked",
        description=(
            "Run the policy pack in policies/ on ENV's plan (synthesized, or --plan), configured "
            "as `pulumi preview --policy-pack policies` would be: the tier's file in "
            "policies/config/ plus the environment's plinth:policy (waivers, rule knobs).\n\n"
            + ENVIRONMENT_ARGUMENT
        ),
        examples=(
            ("plinth check local", "a table of findings"),
            (
                "plinth check prod --plan out/prod/plan.json --format markdown",
                "the plan `plinth synth prod` wrote, as a pull-request comment",
            ),
            (
                "plinth check prod --format sarif --output prod.sarif",
                "a SARIF file for code scanning (the table still goes to stdout)",
            ),
        ),
        exit_codes=(
            (0, "no mandatory violation (advisory findings may remain)"),
            (1, "a mandatory violation: pulumi preview with the pack would block"),
            (2, BAD_INPUT + " (also --plan, --policy-config, --output)"),
            INTERRUPTED,
        ),
    ),
    "policy-config": CommandHelp(
        summary="print ENV's --policy-pack-config file",
        description=(
            "Print the policy configuration of ENV (its tier's file, its waivers, knobs and "
            "component exemptions) as JSON, for `pulumi preview --policy-pack-config`.\n\n"
            + ENVIRONMENT_ARGUMENT
        ),
        examples=(
            (
                "plinth policy-config prod > prod-policy.json",
                "then: pulumi preview -s prod --policy-pack policies "
                "--policy-pack-config prod-policy.json",
            ),
        ),
        exit_codes=((0, "printed"), (2, BAD_INPUT), INTERRUPTED),
    ),
    "diff": CommandHelp(
        summary="what a change does, by component, and what it replaces",
        description=(
            "Compare ENV with itself at a git revision (--rev: that revision's own code runs, "
            "in a subprocess), or with another environment. Changes are grouped by the "
            "top-level component they belong to; every changed input shows its old and new "
            "value (secrets as [secret]); every replacement says what forces it.\n\n"
            + ENVIRONMENT_ARGUMENT
        ),
        examples=(
            ("plinth diff prod --rev main", "what this work tree changes in prod against main"),
            (
                "plinth diff prod --rev HEAD~1 --format json",
                "the same against the previous commit, for scripts",
            ),
            ("plinth diff staging prod", "how prod differs from staging (never exit 3)"),
        ),
        exit_codes=(
            (0, "no data would be lost (changes may be listed)"),
            (1, "the other revision failed to synthesize"),
            (2, BAD_INPUT + " (also an unknown git revision)"),
            (3, "a stateful resource would be replaced, or deleted with its data"),
            INTERRUPTED,
        ),
    ),
    "bootstrap": CommandHelp(
        summary="create what Pulumi needs before the first stack",
        description="Create (or check) the Pulumi state backend and secrets key in a cloud.",
        examples=(
            (
                "plinth bootstrap aws --region eu-west-1 --bucket acme-pulumi-state",
                "the S3 state bucket and KMS key; prints the pulumi login line",
            ),
            (
                "plinth bootstrap azure --subscription SUBSCRIPTION-ID --location westeurope",
                "the Blob state container and Key Vault key; prints the pulumi login line",
            ),
        ),
        exit_codes=(
            (0, "created, or already there"),
            (1, "the cloud itself failed"),
            (2, BAD_INPUT + " (also no credentials, a missing permission, a name taken)"),
            INTERRUPTED,
        ),
    ),
    "bootstrap aws": CommandHelp(
        summary="S3 bucket for Pulumi state, KMS key for secrets",
        description=(
            "Create (or check) an S3 bucket for Pulumi's state (versioned, SSE-KMS, public "
            "access blocked, TLS only) and a KMS key for stack secrets; idempotent. Prints the "
            "`pulumi login` and `pulumi stack init --secrets-provider` lines that use them. "
            "Uses the default AWS credential chain."
        ),
        examples=(
            (
                "plinth bootstrap aws --region eu-west-1 --bucket acme-pulumi-state",
                "then: pulumi login 's3://acme-pulumi-state?region=eu-west-1'",
            ),
            (
                "AWS_PROFILE=admin plinth bootstrap aws --region us-east-1 --bucket b "
                "--kms-alias alias/acme-pulumi",
                "with another profile and key alias",
            ),
        ),
        exit_codes=(
            (0, "created, or already there"),
            (1, "AWS itself failed"),
            (2, BAD_INPUT + " (also no credentials, a missing permission, a bucket name taken)"),
            INTERRUPTED,
        ),
    ),
    "bootstrap azure": CommandHelp(
        summary="Blob container for Pulumi state, Key Vault key for secrets",
        description=(
            "Create (or check) a resource group, a storage account for Pulumi's state "
            "(StorageV2, HTTPS only, TLS 1.2, no public blob access, shared-key access off: "
            "Pulumi signs in with Entra ID; versioning and soft delete) with its container, and "
            "a Key Vault (RBAC, soft delete, purge protection) with an RSA key for stack "
            "secrets; idempotent. Prints the `pulumi login` and `pulumi stack init "
            "--secrets-provider` lines that use them. Storage account and vault names are "
            "global: the defaults carry a hash of the subscription id. Uses azure-identity's "
            "default credential (az login, environment, managed identity), which needs "
            "Contributor, Storage Blob Data Contributor and Key Vault Crypto Officer."
        ),
        examples=(
            (
                "plinth bootstrap azure --subscription SUBSCRIPTION-ID --location westeurope",
                "then: pulumi login 'azblob://pulumi-state?storage_account=plinthstate...'",
            ),
            (
                "plinth bootstrap azure --subscription SUBSCRIPTION-ID --location westeurope "
                "--storage-account acmepulumistate --key-vault acme-pulumi",
                "with names of your own",
            ),
        ),
        exit_codes=(
            (0, "created, or already there"),
            (1, "Azure itself failed"),
            (2, BAD_INPUT + " (also no credentials, a missing role, a name taken)"),
            INTERRUPTED,
        ),
    ),
    "preflight": CommandHelp(
        summary="read-only cloud checks of an eks or aks environment",
        description=(
            "Read-only checks of an eks or aks environment before a deploy. eks (default AWS "
            "credential chain): the GPU instance types are offered in its zones, its Kubernetes "
            "version is supported, GPU quotas suffice. aks (azure-identity's default "
            "credential): every pool's VM size is offered to the subscription in the region "
            "and the cluster's zones, the vCPU quotas of the VM families (and the regional "
            "spot quota) cover the pools at max_size, AKS offers the Kubernetes version. "
            + ENVIRONMENT_ARGUMENT
        ),
        examples=(
            ("plinth preflight dev", "one line per check: ok, FAIL (with the numbers) or skip"),
        ),
        exit_codes=(
            (0, "every check passed"),
            (1, "a check failed, or the cloud itself failed"),
            (2, BAD_INPUT + " (also no credentials, a missing permission)"),
            INTERRUPTED,
        ),
    ),
}
