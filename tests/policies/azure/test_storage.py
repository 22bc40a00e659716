"""Storage account rules (policies/azure/storage.py) on a hand-built account: one
valid-input factory, each failing case changes one field of it."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE

from plinth.check import Violation
from policies.azure import storage
from tests.policy_harness import entry, hits


def storage_account(**changes: Any) -> dict[str, Any]:
    """A compliant account; a change of None removes the input."""
    inputs = {
        "resourceGroupName": "plinth-prod",
        "kind": "StorageV2",
        "sku": {"name": "Standard_ZRS"},
        "allowBlobPublicAccess": False,
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowSharedKeyAccess": False,
    }
    merged = {k: v for k, v in (inputs | changes).items() if v is not None}
    return entry(storage.STORAGE_ACCOUNT, merged, name="artifacts")


def levels_by_tier(rule: str, resource: dict[str, Any]) -> dict[str, list[str]]:
    return {
        tier: [found.level for found in hits(rule, resource, tier=tier)]
        for tier in ("dev", "staging", "prod")
    }


def messages(found: list[Violation]) -> list[str]:
    return [violation.message for violation in found]


# ---------------------------------------------------------------------------------------
# azure-storage-no-public-blob-access

PUBLIC_BLOBS = "azure-storage-no-public-blob-access"


@pytest.mark.parametrize("allow", [False, None])  # unset: the API's default is false
def test_an_account_without_public_blob_access_passes(allow: bool | None) -> None:
    assert hits(PUBLIC_BLOBS, storage_account(allowBlobPublicAccess=allow)) == []


def test_public_blob_access_is_refused_in_every_tier() -> None:
    account = storage_account(allowBlobPublicAccess=True)
    assert levels_by_tier(PUBLIC_BLOBS, account) == {
        "dev": ["mandatory"],
        "staging": ["mandatory"],
        "prod": ["mandatory"],
    }
    assert "allowBlobPublicAccess is true" in messages(hits(PUBLIC_BLOBS, account))[0]


def test_a_value_unknown_during_preview_is_reported_as_not_run() -> None:
    found = hits(PUBLIC_BLOBS, storage_account(allowBlobPublicAccess=UNKNOWN_BOOLEAN_VALUE))
    assert [v.level for v in found] == ["advisory"]
    assert "can't be known during preview" in found[0].message


# ---------------------------------------------------------------------------------------
# azure-storage-secure-transport

TRANSPORT = "azure-storage-secure-transport"


@pytest.mark.parametrize("tls", ["TLS1_2", "TLS1_3"])
def test_an_account_with_https_and_modern_tls_passes(tls: str) -> None:
    assert hits(TRANSPORT, storage_account(minimumTlsVersion=tls)) == []


def test_https_only_left_at_its_default_passes() -> None:
    assert hits(TRANSPORT, storage_account(enableHttpsTrafficOnly=None)) == []


def test_plain_http_is_refused_in_every_tier() -> None:
    account = storage_account(enableHttpsTrafficOnly=False)
    assert levels_by_tier(TRANSPORT, account)["dev"] == ["mandatory"]
    assert messages(hits(TRANSPORT, account)) == [
        "enableHttpsTrafficOnly is false: plain HTTP requests are accepted"
    ]


@pytest.mark.parametrize(
    ("tls", "shown"), [("TLS1_0", '"TLS1_0"'), ("TLS1_1", '"TLS1_1"'), (None, "unset")]
)
def test_old_or_unset_tls_is_refused(tls: str | None, shown: str) -> None:
    found = hits(TRANSPORT, storage_account(minimumTlsVersion=tls))
    assert messages(found) == [
        f"minimumTlsVersion is {shown} (unset means TLS1_0); use one of TLS1_2, TLS1_3"
    ]


# ---------------------------------------------------------------------------------------
# azure-storage-no-shared-key

SHARED_KEY = "azure-storage-no-shared-key"


def test_an_account_without_shared_key_access_passes() -> None:
    assert hits(SHARED_KEY, storage_account(allowSharedKeyAccess=False)) == []


@pytest.mark.parametrize(("allow", "shown"), [(True, "true"), (None, "unset")])
def test_shared_key_access_is_refused_outside_dev(allow: bool | None, shown: str) -> None:
    account = storage_account(allowSharedKeyAccess=allow)
    assert levels_by_tier(SHARED_KEY, account) == {
        "dev": ["advisory"],
        "staging": ["mandatory"],
        "prod": ["mandatory"],
    }
    assert messages(hits(SHARED_KEY, account))[0].startswith(
        f"allowSharedKeyAccess is {shown} (unset means true)"
    )


# ---------------------------------------------------------------------------------------
# azure-storage-recoverable: the account with its blob service settings and lock

RECOVERABLE = "azure-storage-recoverable"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
LOCK = "azure-native:authorization:ManagementLockByScope"
ACCOUNT_ID = (
    "/subscriptions/s/resourceGroups/plinth-prod/providers/Microsoft.Storage/"
    "storageAccounts/plinthprod"
)


def recoverable_stack(**service_changes: Any) -> list[dict[str, Any]]:
    """A compliant account, its blob service settings and its lock; a change of None
    removes the input, `lock=None` the lock."""
    account = storage_account(accountName="plinthprod", id=ACCOUNT_ID)
    lock_level = service_changes.pop("lock", "CanNotDelete")
    service = {
        "accountName": "plinthprod",
        "blobServicesName": "default",
        "isVersioningEnabled": True,
        "deleteRetentionPolicy": {"enabled": True, "days": 14},
        "containerDeleteRetentionPolicy": {"enabled": True, "days": 14},
    }
    merged = {k: v for k, v in (service | service_changes).items() if v is not None}
    resources = [account, entry(BLOB_SERVICE, merged, name="blob-service")]
    if lock_level:
        lock = {"scope": ACCOUNT_ID, "level": lock_level, "lockName": "no-delete"}
        resources.append(entry(LOCK, lock, name="lock"))
    return resources


def test_a_versioned_soft_deleting_locked_account_passes() -> None:
    assert hits(RECOVERABLE, *recoverable_stack()) == []


def test_a_lock_linked_by_dependency_counts() -> None:
    account, service, lock = recoverable_stack()
    lock["inputs"] = {**lock["inputs"], "scope": "unknown offline"}
    lock["dependencies"] = [account["urn"]]
    assert hits(RECOVERABLE, account, service, lock) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"isVersioningEnabled": False}, "has versioning off"),
        ({"deleteRetentionPolicy": {"enabled": False}}, "has deleteRetentionPolicy not enabled"),
        (
            {"containerDeleteRetentionPolicy": None},
            "has containerDeleteRetentionPolicy not enabled",
        ),
        ({"lock": None}, "has no CanNotDelete (or ReadOnly) management lock"),
        ({"lock": "NotSpecified"}, "has no CanNotDelete (or ReadOnly) management lock"),
    ],
)
def test_an_unrecoverable_account_is_refused_in_prod(changes: dict[str, Any], problem: str) -> None:
    found = hits(RECOVERABLE, *recoverable_stack(**changes))
    assert messages(found) == [f"storage account 'artifacts' {problem}"]
    assert [v.level for v in found] == ["mandatory"]


def test_outside_prod_the_lock_is_not_required() -> None:
    for tier in ("dev", "staging"):
        assert hits(RECOVERABLE, *recoverable_stack(lock=None), tier=tier) == []
    versioning_off = recoverable_stack(lock=None, isVersioningEnabled=False)
    assert [v.level for v in hits(RECOVERABLE, *versioning_off, tier="dev")] == ["advisory"]


def test_an_account_without_blob_service_settings_is_refused() -> None:
    account = storage_account(accountName="plinthprod")
    assert messages(hits(RECOVERABLE, account)) == [
        "storage account 'artifacts' has no BlobServiceProperties (versioning and soft "
        "delete are off)"
    ]
