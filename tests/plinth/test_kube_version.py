"""Helm `kubeVersion` constraints, read as Helm's semver library (Masterminds v3) reads them.

Each row is (constraint, cluster version, whether `helm install` accepts it); the expected
answers follow the library's documented range rules, not this module's output.
"""

from __future__ import annotations

import pytest

from plinth.kube_version import satisfies
from stacks.config import ConfigError

CASES = [
    # comparisons
    (">=1.29.0", "1.29.0", True),
    (">=1.29.0", "1.28.9", False),
    (">= 1.29", "1.33.0", True),
    (">1.29.0", "1.29.0", False),
    (">1.29.0", "1.29.1", True),
    (">1.29", "1.29.5", False),  # a partial version: a greater minor is needed
    (">1.29", "1.30.0", True),
    ("<1.30.0", "1.29.9", True),
    ("<1.30.0", "1.30.0", False),
    ("<=1.30", "1.30.7", True),
    ("<=1.30", "1.31.0", False),
    ("=1.31.2", "1.31.2", True),
    ("1.31.2", "1.31.3", False),
    ("!=1.31.2", "1.31.3", True),
    ("!=1.31.2", "1.31.2", False),
    ("v1.31.2", "1.31.2", True),
    # the `-0` suffix charts add so that distribution versions (v1.30.2-eks-1) match
    (">=1.29.0-0", "1.29.0", True),
    (">=1.29.0-0", "1.28.15", False),
    (">1.29.0-0", "1.29.0", True),  # 1.29.0-0 is below the release 1.29.0
    ("<1.34.0-0", "1.33.0", True),
    ("<1.34.0-0", "1.34.0", False),
    ("<=1.34.0-0", "1.34.0", False),
    ("<=1.34.0-0", "1.33.9", True),
    ("1.33.0-0", "1.33.0", False),
    (">=1.25.0-0 <1.36.0-0", "1.33.0", True),
    (">=1.25.0-0 <1.36.0-0", "1.36.0", False),
    (">= 1.25.0-0, < 1.36.0-0", "1.35.1", True),
    # tilde: patch-level changes; with only a major, minor-level
    ("~1.30.2", "1.30.9", True),
    ("~1.30.2", "1.30.1", False),
    ("~1.30.2", "1.31.0", False),
    ("~1.30", "1.30.0", True),
    ("~1", "1.35.0", True),
    ("~1", "2.0.0", False),
    # caret: minor-level changes below the next major
    ("^1.30.2", "1.35.0", True),
    ("^1.30.2", "1.30.1", False),
    ("^1.30.2", "2.0.0", False),
    ("^0.4.1", "0.4.9", True),
    ("^0.4.1", "0.5.0", False),
    # wildcards
    ("1.30.x", "1.30.12", True),
    ("1.30.x", "1.31.0", False),
    ("1.X", "1.2.3", True),
    ("1.*", "2.0.0", False),
    ("*", "1.33.0", True),
    (">=1.x", "1.0.0", True),
    # OR
    ("<1.20.0 || >=1.30.0", "1.33.0", True),
    ("<1.20.0 || >=1.30.0", "1.25.0", False),
    ("1.28.x || 1.29.x", "1.29.3", True),
    # hyphen ranges: inclusive, a partial upper bound takes in its patches
    ("1.25 - 1.30", "1.30.14", True),
    ("1.25 - 1.30", "1.31.0", False),
    ("1.25 - 1.30", "1.24.9", False),
    ("1.25.3 - 1.30.1", "1.30.1", True),
    ("1.25.3 - 1.30.1", "1.30.2", False),
]


@pytest.mark.parametrize(("constraint", "version", "accepted"), CASES)
def test_satisfies_reads_constraints_as_helm_does(
    constraint: str, version: str, accepted: bool
) -> None:
    assert satisfies(version, constraint) is accepted


@pytest.mark.parametrize("constraint", ["abc", ">=1..2", ">=1.2.", "1.2.3.4", ">= one", "=>>1"])
def test_a_constraint_plinth_cannot_read_is_a_config_error(constraint: str) -> None:
    with pytest.raises(ConfigError, match="not a version constraint"):
        satisfies("1.33.0", constraint)
