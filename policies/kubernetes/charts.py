"""Rules: every Helm chart is an exact version from a repository reached over TLS.

Covers `kubernetes:helm.sh/v4:Chart`, `kubernetes:helm.sh/v3:Release` (inputs `chart`,
`version`, `repositoryOpts.repo`, and `plainHttp` on the v4 Chart) and
`kubernetes:helm.sh/v3:Chart`, which registers no inputs at all
(pulumi/pulumi-kubernetes#2144): nothing about it can be checked, so both rules refuse it.

Where a chart comes from, as Helm resolves it:

- local: `chart` is a path written `./...`, `../...` or `/...` and no repository is given.
  Helm installs the directory as it is and ignores `version`; the checkout pins it.
- an archive URL: `chart` is `https://.../name-1.2.3.tgz`; the URL pins the version.
- OCI: `chart` is `oci://registry/path/name`.
- a repository: `repositoryOpts.repo` is the repository URL and `chart` the chart's name.

A chart given as `alias/name` (or a bare name) with no repository depends on the `helm
repo add` state of whichever machine runs Pulumi: the repository rule refuses it.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import MANDATORY_EVERYWHERE, Rule, dig, environment_key, resource_rule

REPOSITORY_RULE = "chart-repository-trusted"
V4_CHART = "kubernetes:helm.sh/v4:Chart"
V3_CHART = "kubernetes:helm.sh/v3:Chart"
V3_RELEASE = "kubernetes:helm.sh/v3:Release"
CHART_TYPES = (V4_CHART, V3_CHART, V3_RELEASE)

# SemVer 2.0.0 (semver.org), with the leading "v" some charts' versions carry (Helm accepts
# it). A bare version is an exact constraint to Helm; "1.2" would match any 1.2.x.
EXACT_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
LOCAL_PREFIXES = ("./", "../", "/")
SECURE_SCHEMES = ("https://", "oci://")

_NO_INPUTS = (
    "kubernetes:helm.sh/v3:Chart registers no inputs (pulumi/pulumi-kubernetes#2144), so its "
    "chart, version and repository cannot be checked; use kubernetes:helm.sh/v4:Chart"
)


def _chart_and_repository(args: ResourceValidationArgs) -> tuple[str, str] | None:
    """`chart` and `repositoryOpts.repo` ("" when unset); None for an unreadable v3 Chart."""
    chart = args.props.get("chart")
    if args.resource_type == V3_CHART and chart is None:
        return None
    repository = dig(args.props, "repositoryOpts", "repo")
    return (
        chart if isinstance(chart, str) else "",
        repository if isinstance(repository, str) else "",
    )


def _is_local(chart: str, repository: str) -> bool:
    return chart.startswith(LOCAL_PREFIXES) and not repository


def _checked_source(
    args: ResourceValidationArgs, report: ReportViolation
) -> tuple[str, str] | None:
    """(chart, repository) of a chart resource; None when there is nothing to check."""
    if args.resource_type not in CHART_TYPES:
        return None
    source = _chart_and_repository(args)
    if source is None:
        report(_NO_INPUTS, args.urn)
    return source


def _validate_version(args: ResourceValidationArgs, report: ReportViolation) -> None:
    source = _checked_source(args, report)
    if source is None:
        return
    chart, repository = source
    if _is_local(chart, repository) or chart.startswith("https://"):
        return  # pinned by the checkout, or by the archive's URL
    version = args.props.get("version")
    shown = chart or args.name
    if not isinstance(version, str) or not version:
        report(f"chart {shown} has no version: Helm would install the newest", args.urn)
    elif not EXACT_VERSION.match(version):
        report(
            f"chart {shown} version {version!r} is not one exact version (like 2.5.2): "
            "ranges, wildcards and partial versions let the chart change under you",
            args.urn,
        )


def _validate_repository(args: ResourceValidationArgs, report: ReportViolation) -> None:
    source = _checked_source(args, report)
    if source is None:
        return
    chart, repository = source
    if _is_local(chart, repository):
        return
    shown = chart or args.name
    location = chart if "://" in chart else repository
    if not location:
        report(
            f"chart {shown} names no repository: Helm would resolve it from the helm repo "
            "configuration of whichever machine runs Pulumi; set repositoryOpts.repo",
            args.urn,
        )
        return
    if not location.startswith(SECURE_SCHEMES):
        report(f"chart {shown} comes from {location}: use an https:// or oci:// URL", args.urn)
    if args.props.get("plainHttp") is True:
        report(f"chart {shown} sets plainHttp: pull it over TLS", args.urn)
    allowed: list[str] = args.get_config()["allowedRepositories"]
    if allowed and not location.startswith(tuple(allowed)):
        report(
            f"chart {shown} comes from {location}, not from "
            f"{environment_key(REPOSITORY_RULE, 'allowedRepositories')} ({', '.join(allowed)})",
            args.urn,
        )


ALLOWED_REPOSITORIES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "pattern": "^(https|oci)://"},
    "default": [],
    "description": "URL prefixes charts may come from (a mirror, say); empty allows any "
    "https:// or oci:// repository.",
}

RULES: tuple[Rule, ...] = (
    resource_rule(
        "chart-version-pinned",
        "Every Helm chart is pinned to one exact version.",
        _validate_version,
        severity=Severity.MEDIUM,
        remediation=(
            "Set version to an exact chart version (components/versions.py holds every "
            "pin, with a Renovate comment)."
        ),
        # Everywhere: an unpinned chart makes dev differ from what staging and prod will
        # run, and the fix (one string) costs nothing.
        levels=MANDATORY_EVERYWHERE,
    ),
    resource_rule(
        REPOSITORY_RULE,
        "Every Helm chart comes from an https:// or oci:// repository.",
        _validate_repository,
        severity=Severity.HIGH,
        remediation=(
            "Give the chart's https:// repository URL (repositoryOpts.repo), or the chart "
            "as oci://..., and do not set plainHttp: Plinth's chart repositories are in "
            "components/versions.py beside their versions. A mirror goes in "
            f"{environment_key(REPOSITORY_RULE, 'allowedRepositories')}."
        ),
        # Everywhere: a chart fetched in the clear can be swapped in transit, and a swapped
        # chart runs with the deployer's rights on the cluster whatever the tier.
        levels=MANDATORY_EVERYWHERE,
        config={"allowedRepositories": ALLOWED_REPOSITORIES_SCHEMA},
        waivable_in_prod=False,
    ),
)
