"""Rules: a storage account allows no anonymous blob access and speaks HTTPS with TLS 1.2+."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import MANDATORY_EVERYWHERE, Rule, dig, resource_rule, shown

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"

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
)
