"""containers-read-only-root-filesystem (policies/kubernetes/root_filesystem.py)."""

from __future__ import annotations

from tests.policies.kubernetes.pods import SC, changed
from tests.policy_harness import hits


def test_read_only_root_filesystem_is_advice_everywhere() -> None:
    subject = changed(f"{SC}.readOnlyRootFilesystem", False)
    for tier in ("dev", "prod"):
        (found,) = hits("containers-read-only-root-filesystem", subject, tier=tier)
        assert found.level == "advisory"
        assert f"spec.template.spec.{SC}.readOnlyRootFilesystem is not true" in found.message
