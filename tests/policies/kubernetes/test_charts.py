"""chart-version-pinned and chart-repository-trusted, through the pack as `plinth check`
runs it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy_harness import entry, hits

VERSION = "chart-version-pinned"
REPOSITORY = "chart-repository-trusted"
V4_CHART = "kubernetes:helm.sh/v4:Chart"
V3_RELEASE = "kubernetes:helm.sh/v3:Release"


def chart(resource_type: str = V4_CHART) -> dict[str, Any]:
    """The Spark operator chart as SparkOperator declares it."""
    return entry(
        resource_type,
        {
            "chart": "spark-operator",
            "version": "2.5.2",
            "repositoryOpts": {"repo": "https://kubeflow.github.io/spark-operator"},
            "namespace": "spark-operator",
        },
    )


@pytest.mark.parametrize("resource_type", [V4_CHART, V3_RELEASE])
def test_pinned_chart_from_https_repository_passes(resource_type: str) -> None:
    subject = chart(resource_type)
    assert hits(VERSION, subject) == []
    assert hits(REPOSITORY, subject) == []


@pytest.mark.parametrize("version", ["2.5.2", "v1.15.0", "1.0.0-rc.1", "0.1.0+build.7"])
def test_exact_versions_pass(version: str) -> None:
    subject = chart()
    subject["inputs"]["version"] = version
    assert hits(VERSION, subject) == []


@pytest.mark.parametrize(
    "version",
    ["^2.5.2", "~2.5.2", ">=2.5.0", "<3", "2.5.x", "2.x", "*", "2.5", "latest", "2.5.2 || 2.6.0"],
)
@pytest.mark.parametrize("resource_type", [V4_CHART, V3_RELEASE])
def test_ranges_and_partial_versions_are_refused(version: str, resource_type: str) -> None:
    subject = chart(resource_type)
    subject["inputs"]["version"] = version
    found = hits(VERSION, subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert "not one exact version" in found[0].message


@pytest.mark.parametrize("version", ["", None])
def test_missing_version_is_refused(version: str | None) -> None:
    subject = chart()
    subject["inputs"]["version"] = version
    assert "has no version" in hits(VERSION, subject)[0].message


def test_local_chart_needs_neither_version_nor_repository() -> None:
    subject = chart()
    subject["inputs"].update(chart="./charts/team-a", version=None, repositoryOpts=None)
    assert hits(VERSION, subject) == []
    assert hits(REPOSITORY, subject) == []


def test_oci_chart_needs_no_repository_but_a_version() -> None:
    subject = chart()
    subject["inputs"].update(
        chart="oci://ghcr.io/kubeflow/charts/spark-operator", repositoryOpts=None
    )
    assert hits(REPOSITORY, subject) == []
    assert hits(VERSION, subject) == []
    subject["inputs"]["version"] = "2.5.x"
    assert len(hits(VERSION, subject)) == 1


def test_oci_repository_passes() -> None:
    subject = chart()
    subject["inputs"]["repositoryOpts"]["repo"] = "oci://ghcr.io/kubeflow/charts"
    assert hits(REPOSITORY, subject) == []


def test_https_archive_url_pins_its_version() -> None:
    subject = chart()
    subject["inputs"].update(
        chart="https://example.com/charts/spark-operator-2.5.2.tgz",
        version=None,
        repositoryOpts=None,
    )
    assert hits(VERSION, subject) == []
    assert hits(REPOSITORY, subject) == []


@pytest.mark.parametrize("resource_type", [V4_CHART, V3_RELEASE])
def test_plain_http_repository_is_refused(resource_type: str) -> None:
    subject = chart(resource_type)
    subject["inputs"]["repositoryOpts"]["repo"] = "http://kubeflow.github.io/spark-operator"
    found = hits(REPOSITORY, subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert "use an https:// or oci:// URL" in found[0].message


def test_plain_http_archive_url_is_refused() -> None:
    subject = chart()
    subject["inputs"].update(
        chart="http://example.com/spark-operator-2.5.2.tgz", repositoryOpts=None
    )
    assert len(hits(REPOSITORY, subject)) == 1


def test_plain_http_flag_is_refused() -> None:
    subject = chart()
    subject["inputs"].update(chart="oci://registry.local/spark-operator", plainHttp=True)
    assert "sets plainHttp" in hits(REPOSITORY, subject)[0].message


@pytest.mark.parametrize(
    "name", ["spark-operator", "kubeflow/spark-operator", "charts/spark-operator"]
)
def test_chart_without_repository_is_refused(name: str) -> None:
    subject = chart()
    subject["inputs"].update(chart=name, repositoryOpts=None)
    assert "names no repository" in hits(REPOSITORY, subject)[0].message


def test_v3_chart_cannot_be_checked() -> None:
    subject = entry("kubernetes:helm.sh/v3:Chart", {})
    assert "registers no inputs" in hits(VERSION, subject)[0].message
    assert "registers no inputs" in hits(REPOSITORY, subject)[0].message


def test_allowed_repositories_are_configurable() -> None:
    config = {REPOSITORY: {"allowedRepositories": ["https://charts.example.com/"]}}
    (found,) = hits(REPOSITORY, chart(), config=config)
    assert "not from plinth:policy.config.chart-repository-trusted.allowedRepositories" in (
        found.message
    )
    mirrored = chart()
    mirrored["inputs"]["repositoryOpts"]["repo"] = "https://charts.example.com/kubeflow"
    assert hits(REPOSITORY, mirrored, config=config) == []


def test_other_types_are_not_charts() -> None:
    subject = chart()
    subject["type"] = "kubernetes:yaml/v2:ConfigFile"
    assert hits(VERSION, subject) == []
    assert hits(REPOSITORY, subject) == []


@pytest.mark.parametrize("tier", ["dev", "staging", "prod"])
def test_both_rules_are_mandatory_everywhere(tier: str) -> None:
    subject = chart()
    subject["inputs"].update(version="^2", repositoryOpts={"repo": "http://insecure"})
    found = hits(VERSION, subject, tier=tier) + hits(REPOSITORY, subject, tier=tier)
    assert [violation.level for violation in found] == ["mandatory", "mandatory"]
