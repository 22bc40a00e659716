"""Rules: a storage account allows no anonymous blob access, speaks HTTPS with TLS 1.2+,
refuses shared-key (account key and SAS) requests and, in prod, keeps versions and
soft-deleted blobs and containers and carries a delete lock.

Versioning, soft delete and the lock are separate resources (BlobServiceProperties naming
the account in `accountName`; a management lock whose `scope` is the account's ID), so
that rule is a stack rule linking them to the account: by those values where known, else
by the companion's dependencies (offline, an ID is known only through placeholders).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.aws.values import UNKNOWN, known
from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    resource_rule,
    shown,
    stack_rule,
)

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
LOCK_TYPES = frozenset(
    {
        "azure-native:authorization:ManagementLockByScope",
        "azure-native:authorization:ManagementLockAtResourceLevel",
    }
)

# `MinimumTlsVersion` in azure-native 3.x: TLS1_0, TLS1_1, TLS1_2, TLS1_3.
MODERN_TLS_VERSIONS = ("TLS1_2", "TLS1_3")


def _validate_storage_public_access(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # Unset is false ("the default interpretation is false for this property").
    if dig(args.props, "allowBlobPublicAccess") is True:
        report_violation(
            "allowBlobPublicAccess is true: containers may be made readable anonymously", None
        )


def _validate_storage_transport(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # Unset is true ("the default value is true since API version 2019-04-01").
    if dig(args.props, "enableHttpsTrafficOnly") is False:
        report_violation("enableHttpsTrafficOnly is false: plain HTTP requests are accepted", None)
    tls = dig(args.props, "minimumTlsVersion")
    if str(tls).upper() not in MODERN_TLS_VERSIONS:
        report_violation(
            f"minimumTlsVersion is {shown(tls)} (unset means TLS1_0); "
            f"use one of {', '.join(MODERN_TLS_VERSIONS)}",
            None,
        )


def _validate_storage_shared_key(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # Unset is allowed ("the default value is null, which is equivalent to true").
    if dig(args.props, "allowSharedKeyAccess") is not False:
        report_violation(
            f"allowSharedKeyAccess is {shown(dig(args.props, 'allowSharedKeyAccess'))} "
            "(unset means true): the account key and SAS tokens reach every blob, "
            "bypassing Microsoft Entra ID and its role assignments",
            None,
        )


def _linked(
    companion: PolicyResource, value: Any, names: Mapping[str, str], urns: set[str]
) -> set[str]:
    """The accounts (URNs) a companion belongs to: by `value` (a name or ID it gives),
    else by its dependencies."""
    if isinstance(value, str) and value in names:
        return {names[value]}
    return {source.urn for source in companion.dependencies or []} & urns


def _recoverability_problems(service: Mapping[str, Any]) -> list[str]:
    problems = []
    if service.get("isVersioningEnabled") is False or "isVersioningEnabled" not in service:
        problems.append("versioning off")
    for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        value = service.get(policy)
        if value is UNKNOWN:
            continue
        if not isinstance(value, Mapping) or value.get("enabled") is not True:
            problems.append(f"{policy} not enabled")
    return problems


def _validate_storage_recoverable(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    require_lock = bool(args.get_config()["requireLock"])
    accounts = [r for r in args.resources if r.resource_type == STORAGE_ACCOUNT]
    by_name: dict[str, str] = {}
    by_id: dict[str, str] = {}
    for account in accounts:
        props = known(account.props)
        if isinstance(props.get("accountName"), str):
            by_name[props["accountName"]] = account.urn
        if isinstance(props.get("id"), str):
            by_id[props["id"]] = account.urn
    urns = {account.urn for account in accounts}
    services: dict[str, list[Mapping[str, Any]]] = {urn: [] for urn in urns}
    locked: set[str] = set()
    # Read only what can protect an account: a CRD's inputs are megabytes.
    protections = (BLOB_SERVICE, *LOCK_TYPES)
    for resource in (r for r in args.resources if r.resource_type in protections):
        props = known(resource.props)
        if resource.resource_type == BLOB_SERVICE:
            for urn in _linked(resource, props.get("accountName"), by_name, urns):
                services[urn].append(props)
        elif resource.resource_type in LOCK_TYPES and props.get("level") in (
            "CanNotDelete",
            "ReadOnly",
        ):
            locked |= _linked(resource, props.get("scope"), by_id, urns)
    for account in accounts:
        found = services[account.urn]
        if not found:
            problem = "has no BlobServiceProperties (versioning and soft delete are off)"
        elif all(_recoverability_problems(props) for props in found):
            problem = f"has {', '.join(_recoverability_problems(found[0]))}"
        elif require_lock and account.urn not in locked:
            problem = "has no CanNotDelete (or ReadOnly) management lock"
        else:
            continue
        report_violation(f"storage account {account.name!r} {problem}", account.urn)


RULES: tuple[Rule, ...] = (
    resource_rule(
        "azure-storage-no-public-blob-access",
        "A storage account does not allow anonymous (public) access to its blobs.",
        _validate_storage_public_access,
        severity=Severity.HIGH,
        remediation=(
            "In the component that creates the storage account, set its "
            "allowBlobPublicAccess to false or leave it unset (false is the default)."
        ),
        # A public container is a data leak in any tier; Plinth has no use for one.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
    resource_rule(
        "azure-storage-secure-transport",
        "A storage account accepts HTTPS only, with TLS 1.2 or newer.",
        _validate_storage_transport,
        severity=Severity.HIGH,
        remediation=(
            "In the component that creates the storage account, set its minimumTlsVersion "
            "to TLS1_2 (or TLS1_3) and leave enableHttpsTrafficOnly unset or true."
        ),
        # Free, and every supported client speaks TLS 1.2: no reason for a tier to differ.
        levels=MANDATORY_EVERYWHERE,
    ),
    resource_rule(
        "azure-storage-no-shared-key",
        "A storage account refuses shared-key requests: only Microsoft Entra identities "
        "with a data role reach its blobs.",
        _validate_storage_shared_key,
        severity=Severity.HIGH,
        remediation=(
            "Set allowSharedKeyAccess to false on the storage account. Plinth's BlobStorage "
            "(components/blob_storage/) does, and mounts volumes with workload identity "
            "tokens, which need no key."
        ),
        # Plinth's own accounts never need a key; an account made elsewhere may, in dev.
        levels=ADVISORY_IN_DEV,
    ),
    stack_rule(
        "azure-storage-recoverable",
        "Every storage account keeps blob versions and soft-deleted blobs and containers, "
        "and (knob requireLock) carries a delete lock, so a mistaken delete or overwrite "
        "can be undone.",
        _validate_storage_recoverable,
        severity=Severity.MEDIUM,
        remediation=(
            "Set plinth:blob_storage.versioning: true and soft_delete_days above 0 (the "
            "defaults) with plinth:tier prod: BlobStorage then creates BlobServiceProperties "
            "with versioning and both soft deletes, and a CanNotDelete lock on the account. "
            "An account made elsewhere needs the same two companions."
        ),
        # Old versions and deleted blobs cost storage; dev and staging data is reproducible.
        levels=MANDATORY_IN_PROD,
        config={
            "requireLock": {
                "type": "boolean",
                "default": True,
                "description": (
                    "Require a CanNotDelete or ReadOnly lock on the account. Plinth locks "
                    "accounts in prod only, where data must survive; dev and staging turn "
                    "the knob off."
                ),
            }
        },
        tier_config={"dev": {"requireLock": False}, "staging": {"requireLock": False}},
    ),
)
