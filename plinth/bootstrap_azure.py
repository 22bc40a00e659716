"""`plinth bootstrap azure`: the storage account, container and Key Vault key Pulumi needs
before the first aks stack.

Pulumi keeps each stack's state in a blob container (`pulumi login
'azblob://CONTAINER?storage_account=ACCOUNT'`) and encrypts the stack's secrets with a
Key Vault key (`--secrets-provider azurekeyvault://VAULT.vault.azure.net/keys/KEY`); both
must exist before `pulumi stack init`, so they cannot be resources of the stacks
themselves. Every step is idempotent: a second run finds everything in place, changes
nothing and says so.

The storage account: StorageV2, geo-redundant (Standard_GRS, offered in every region),
HTTPS only, TLS 1.2 minimum, no anonymous blob access, no cross-tenant replication, and
shared-key access OFF. Pulumi's azblob backend authenticates with Entra ID (the Azure SDK
for Go's default credential: `az login`, AZURE_CLIENT_ID/SECRET, managed identity) when
the account is named in the URL (`?storage_account=`) and no AZURE_STORAGE_KEY or
AZURE_STORAGE_SAS_TOKEN is set, so no account key is ever needed; AZURE_STORAGE_AUTH_MODE
is the Azure CLI's setting (`az storage ... --auth-mode login`), which Pulumi does not
read. Blob versioning and soft delete of blobs and containers (30 days) let a bad write
of the state be rolled back.

The Key Vault: RBAC authorisation (no access policies), soft delete (90 days) and purge
protection, so neither the vault nor the key can be destroyed for good by mistake. The
key: RSA 3072 with encrypt/decrypt (what Pulumi's azurekeyvault keeper calls) and
wrap/unwrap, no rotation policy: the keeper decrypts with the key's current version, so
an automatic rotation would orphan the secrets encrypted before it.

The container and the key are data-plane operations: the identity running bootstrap
needs Storage Blob Data Contributor on the account and Key Vault Crypto Officer on the
vault (granted at subscription or resource group scope before the first run), as
everyone running `pulumi` needs Storage Blob Data Contributor and Key Vault Crypto User.

Azure RBAC actions it needs:
    Microsoft.Resources/subscriptions/read
    Microsoft.Resources/subscriptions/resourceGroups/read
    Microsoft.Resources/subscriptions/resourceGroups/write
    Microsoft.Storage/checknameavailability/read
    Microsoft.Storage/storageAccounts/read
    Microsoft.Storage/storageAccounts/write
    Microsoft.Storage/storageAccounts/blobServices/read
    Microsoft.Storage/storageAccounts/blobServices/write
    Microsoft.Storage/storageAccounts/blobServices/containers/write
    Microsoft.KeyVault/checkNameAvailability/read
    Microsoft.KeyVault/vaults/read
    Microsoft.KeyVault/vaults/write
    Microsoft.KeyVault/vaults/keys/read (data action)
    Microsoft.KeyVault/vaults/keys/create/action (data action)
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from plinth.azure_session import (
    KEY_VAULT_SCOPE,
    LRO_TIMEOUT_S,
    AzureError,
    AzureServiceError,
    RestClient,
    TokenSource,
    default_credential,
    explained_errors,
)
from plinth.cloud_report import Outcome, bootstrap_report
from stacks.config import ConfigError

COMMAND = "plinth bootstrap azure"
DEFAULT_RESOURCE_GROUP = "plinth-pulumi-state"
DEFAULT_CONTAINER = "pulumi-state"
DEFAULT_KEY = "pulumi-secrets"
MANAGED_BY = {"managed-by": "plinth-bootstrap"}
# Blob metadata names must be C# identifiers (no hyphen).
CONTAINER_METADATA = {"managed_by": "plinth-bootstrap"}

# api-versions: each is a stable version of its file in Azure/azure-rest-api-specs
# (specification/<service>/resource-manager/... or data-plane/...).
SUBSCRIPTIONS_API = (
    "2022-12-01"  # resources/.../Microsoft.Resources/stable/2022-12-01/subscriptions.json
)
RESOURCES_API = "2021-04-01"  # resources/.../Microsoft.Resources/stable/2021-04-01/resources.json
STORAGE_API = (
    "2025-01-01"  # storage/.../Microsoft.Storage/stable/2025-01-01/storage.json, blob.json
)
KEY_VAULT_API = "2024-11-01"  # keyvault/.../Microsoft.KeyVault/stable/2024-11-01/keyvault.json
KEYS_API = "7.5"  # keyvault/data-plane/Microsoft.KeyVault/stable/7.5/keys.json

STORAGE_SKU = "Standard_GRS"
RETENTION_DAYS = 30
VAULT_RETENTION_DAYS = 90
KEY_SIZE = 3072
KEY_OPERATIONS = ("decrypt", "encrypt", "unwrapKey", "wrapKey")
# What the storage account must say, and what bootstrap sets where it does not.
ACCOUNT_HARDENING: dict[str, object] = {
    "supportsHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
    "allowCrossTenantReplication": False,
    "defaultToOAuthAuthentication": True,
}

# RBAC action -> the step that needs it (listed whole when one is denied).
ACTIONS = {
    "Microsoft.Resources/subscriptions/read": "the subscription's tenant",
    "Microsoft.Resources/subscriptions/resourceGroups/read": "the resource group",
    "Microsoft.Resources/subscriptions/resourceGroups/write": "the resource group",
    "Microsoft.Storage/checknameavailability/read": "the storage account's name",
    "Microsoft.Storage/storageAccounts/read": "the storage account",
    "Microsoft.Storage/storageAccounts/write": "the storage account",
    "Microsoft.Storage/storageAccounts/blobServices/read": "versioning and soft delete",
    "Microsoft.Storage/storageAccounts/blobServices/write": "versioning and soft delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/write": "the container",
    "Microsoft.KeyVault/checkNameAvailability/read": "the vault's name",
    "Microsoft.KeyVault/vaults/read": "the vault",
    "Microsoft.KeyVault/vaults/write": "the vault",
    "Microsoft.KeyVault/vaults/keys/read": "the key",
    "Microsoft.KeyVault/vaults/keys/create/action": "the key",
}

# Naming rules (Azure's "Naming rules and restrictions for Azure resources" page).
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,39}$")
_RESOURCE_GROUP = re.compile(r"^[\w().-]{0,89}[\w()-]$")
_STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_VAULT = re.compile(r"^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
_KEY = re.compile(r"^[a-zA-Z0-9-]{1,127}$")


@dataclass(frozen=True)
class AzureBootstrapNames:
    """Where the state and the key live; `derived` fills in what the user left out."""

    subscription_id: str
    location: str
    resource_group: str
    storage_account: str
    container: str
    key_vault: str
    key: str

    @classmethod
    def derived(
        cls,
        subscription_id: str,
        location: str,
        *,
        resource_group: str | None = None,
        storage_account: str | None = None,
        container: str | None = None,
        key_vault: str | None = None,
        key: str | None = None,
    ) -> AzureBootstrapNames:
        """Names given, or derived from the subscription: storage account and vault names
        are global, so the default ones carry a hash of the subscription id (the same on
        every run, different in every subscription)."""
        suffix = hashlib.sha256(subscription_id.lower().encode()).hexdigest()[:10]
        return cls(
            subscription_id=subscription_id.lower(),
            location=location,
            resource_group=resource_group or DEFAULT_RESOURCE_GROUP,
            storage_account=storage_account or f"plinthstate{suffix}",
            container=container or DEFAULT_CONTAINER,
            key_vault=key_vault or f"plinth-kv-{suffix}",
            key=key or DEFAULT_KEY,
        )

    def validate(self) -> None:
        """ConfigError naming the flag, the value and the rule, before any Azure call."""
        rules = (
            ("--subscription", self.subscription_id, _GUID, "a subscription id (a GUID)"),
            ("--location", self.location, _LOCATION, "an Azure region name, e.g. westeurope"),
            (
                "--resource-group",
                self.resource_group,
                _RESOURCE_GROUP,
                "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'",
            ),
            (
                "--storage-account",
                self.storage_account,
                _STORAGE_ACCOUNT,
                "3-24 lowercase letters and digits (a global name)",
            ),
            (
                "--container",
                self.container,
                _CONTAINER,
                "3-63 lowercase letters, digits and single hyphens, starting and ending "
                "with a letter or digit",
            ),
            (
                "--key-vault",
                self.key_vault,
                _VAULT,
                "3-24 letters, digits and single hyphens, starting with a letter and not "
                "ending with a hyphen (a global name)",
            ),
            ("--key", self.key, _KEY, "1-127 letters, digits and hyphens"),
        )
        for flag, value, pattern, rule in rules:
            if not pattern.fullmatch(value):
                raise ConfigError(f"{flag} {value!r}: must be {rule}")

    @property
    def resource_group_path(self) -> str:
        """The resource group's ARM id."""
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    @property
    def account_path(self) -> str:
        """The storage account's ARM id."""
        return (
            f"{self.resource_group_path}/providers/Microsoft.Storage/storageAccounts/"
            f"{self.storage_account}"
        )

    @property
    def vault_path(self) -> str:
        """The Key Vault's ARM id."""
        return f"{self.resource_group_path}/providers/Microsoft.KeyVault/vaults/{self.key_vault}"


@dataclass(frozen=True)
class AzureBootstrapResult:
    """The outcome of every step, and the names the next commands use."""

    names: AzureBootstrapNames
    vault_host: str
    outcomes: tuple[Outcome, ...]

    def next_commands(self) -> list[str]:
        """Log in to the container, create each stack with the key, grant the roles the
        people and pipelines running pulumi need."""
        n = self.names
        return [
            f"pulumi login 'azblob://{n.container}?storage_account={n.storage_account}'",
            f"pulumi stack init <env> --secrets-provider "
            f"'azurekeyvault://{self.vault_host}/keys/{n.key}'",
            f"az role assignment create --role 'Storage Blob Data Contributor' "
            f"--assignee <user-or-app> --scope {n.account_path}",
            f"az role assignment create --role 'Key Vault Crypto User' "
            f"--assignee <user-or-app> --scope {n.vault_path}",
        ]

    def report(self) -> str:
        """The lines `plinth bootstrap azure` prints."""
        n = self.names
        return bootstrap_report(
            f"{COMMAND}: storage account {n.storage_account}, container {n.container}, "
            f"key vault {n.key_vault}, key {n.key}, resource group {n.resource_group} "
            f"in {n.location}",
            self.outcomes,
            "Next, log in to the state container, create each stack with the key, and let "
            "whoever runs pulumi use both:",
            self.next_commands(),
        )


@dataclass(frozen=True)
class AzureBootstrapClients:
    """Where bootstrap sends its requests: Resource Manager, and the vault's and the
    account's data planes. `vault_endpoint` and `blob_endpoint` replace the addresses Azure
    gives (the tests' local servers); `blob_credential` is what azure-storage-blob
    authenticates with (the token credential; a shared key for Azurite)."""

    arm: RestClient
    credential: TokenSource
    blob_credential: Any
    vault_endpoint: str | None = None
    blob_endpoint: str | None = None

    @classmethod
    def connect(cls) -> AzureBootstrapClients:
        """Clients from azure-identity's default credential chain."""
        credential = default_credential()
        return cls(arm=RestClient(credential), credential=credential, blob_credential=credential)

    def vault(self, vault_uri: str) -> RestClient:
        """The Key Vault data plane at `vault_uri` (or the override)."""
        return RestClient(
            self.credential,
            endpoint=self.vault_endpoint or vault_uri,
            scope=KEY_VAULT_SCOPE,
            poll_interval_s=self.arm.poll_interval_s,
        )


def bootstrap_azure(
    names: AzureBootstrapNames, clients: AzureBootstrapClients | None = None
) -> AzureBootstrapResult:
    """Create or correct the resource group, storage account, container, vault and key;
    report each step. Names are checked before any Azure call."""
    names.validate()
    azure = clients or AzureBootstrapClients.connect()
    arm = azure.arm
    with explained_errors(COMMAND, ACTIONS):
        tenant = _tenant(arm, names)
        # Both global names are checked before anything is made: a taken one stops the run.
        found_account = _found_or_available_account(arm, names)
        found_vault = _found_or_available_vault(arm, names)
        outcomes = [_ensure_resource_group(arm, names)]
        account, account_outcome = _ensure_account(arm, names, found_account)
        outcomes += [
            account_outcome,
            _ensure_blob_service(arm, names),
            _ensure_container(azure, names, account),
        ]
        vault, vault_outcome = _ensure_vault(arm, names, tenant, found_vault)
        vault_uri = str(vault["properties"]["vaultUri"])
        outcomes += [vault_outcome, _ensure_key(azure.vault(vault_uri), names.key)]
    return AzureBootstrapResult(names, urlsplit(vault_uri).netloc, tuple(outcomes))


def _tenant(arm: RestClient, names: AzureBootstrapNames) -> str:
    """The subscription's Entra tenant, which the vault trusts."""
    subscription = arm.call(
        "GET",
        f"/subscriptions/{names.subscription_id}",
        SUBSCRIPTIONS_API,
        "Microsoft.Resources/subscriptions/read",
    )
    if subscription.get("state") not in ("Enabled", None):
        raise AzureError(
            f"{COMMAND}: subscription {names.subscription_id} is {subscription['state']}: "
            "use an enabled subscription"
        )
    return str(subscription["tenantId"])


def _ensure_resource_group(arm: RestClient, names: AzureBootstrapNames) -> Outcome:
    item = f"resource group {names.resource_group}"
    path = f"/subscriptions/{names.subscription_id}/resourcegroups/{names.resource_group}"
    found = arm.get(path, RESOURCES_API, "Microsoft.Resources/subscriptions/resourceGroups/read")
    if found is not None:
        return Outcome(item, "already correct", f"exists in {found['location']}")
    arm.call(
        "PUT",
        path,
        RESOURCES_API,
        "Microsoft.Resources/subscriptions/resourceGroups/write",
        body={"location": names.location, "tags": MANAGED_BY},
    )
    return Outcome(item, "created", f"in {names.location}")


def _found_or_available_account(
    arm: RestClient, names: AzureBootstrapNames
) -> dict[str, Any] | None:
    """The storage account if it exists in the resource group; None if its name is free."""
    found = arm.get(names.account_path, STORAGE_API, "Microsoft.Storage/storageAccounts/read")
    if found is None:
        _check_name_available(
            arm,
            path=f"/subscriptions/{names.subscription_id}/providers/Microsoft.Storage/"
            "checkNameAvailability",
            api_version=STORAGE_API,
            body={"name": names.storage_account, "type": "Microsoft.Storage/storageAccounts"},
            action="Microsoft.Storage/checknameavailability/read",
            flag="--storage-account",
        )
    return found


def _found_or_available_vault(arm: RestClient, names: AzureBootstrapNames) -> dict[str, Any] | None:
    """The Key Vault if it exists in the resource group; None if its name is free."""
    found = arm.get(names.vault_path, KEY_VAULT_API, "Microsoft.KeyVault/vaults/read")
    if found is None:
        _check_name_available(
            arm,
            path=f"/subscriptions/{names.subscription_id}/providers/Microsoft.KeyVault/"
            "checkNameAvailability",
            api_version=KEY_VAULT_API,
            body={"name": names.key_vault, "type": "Microsoft.KeyVault/vaults"},
            action="Microsoft.KeyVault/checkNameAvailability/read",
            flag="--key-vault",
        )
    return found


def _ensure_account(
    arm: RestClient, names: AzureBootstrapNames, found: dict[str, Any] | None
) -> tuple[dict[str, Any], Outcome]:
    item = f"storage account {names.storage_account}"
    detail = "StorageV2, HTTPS only, TLS1_2, no public blob access, shared-key access off"
    if found is None:
        body = {
            "sku": {"name": STORAGE_SKU},
            "kind": "StorageV2",
            "location": names.location,
            "tags": MANAGED_BY,
            "properties": {**ACCOUNT_HARDENING, "accessTier": "Hot"},
        }
        created = arm.call(
            "PUT",
            names.account_path,
            STORAGE_API,
            "Microsoft.Storage/storageAccounts/write",
            body=body,
        )
        return created, Outcome(item, "created", f"{detail}, {STORAGE_SKU} in {names.location}")
    if found.get("kind") != "StorageV2":
        raise AzureError(
            f"{COMMAND}: storage account {names.storage_account} is of kind "
            f"{found.get('kind')}; Pulumi state needs StorageV2 (blob versioning): upgrade it "
            "or choose another --storage-account"
        )
    properties = found.get("properties", {})
    drift = {k: v for k, v in ACCOUNT_HARDENING.items() if properties.get(k) != v}
    if not drift:
        return found, Outcome(item, "already correct", detail)
    updated = arm.call(
        "PATCH",
        names.account_path,
        STORAGE_API,
        "Microsoft.Storage/storageAccounts/write",
        body={"properties": drift},
    )
    return updated, Outcome(item, "updated", f"{detail} (set {', '.join(sorted(drift))})")


def _check_name_available(
    arm: RestClient,
    *,
    path: str,
    api_version: str,
    body: dict[str, str],
    action: str,
    flag: str,
) -> None:
    """AzureError naming the flag when a global name is taken (or otherwise refused)."""
    answer = arm.call("POST", path, api_version, action, body=body)
    if answer.get("nameAvailable") is False:
        reason = answer.get("reason", "")
        why = str(answer.get("message", "")).rstrip(".")
        # A deleted vault keeps its name through its soft-delete retention.
        deleted = (
            f", or recover your deleted vault (az keyvault recover --name {body['name']})"
            if flag == "--key-vault"
            else ""
        )
        raise AzureError(
            f"{COMMAND}: {flag} {body['name']} cannot be used ({reason}: {why}); names are "
            f"global across Azure: choose another {flag}{deleted}"
        )


def _ensure_blob_service(arm: RestClient, names: AzureBootstrapNames) -> Outcome:
    item = "blob versioning and soft delete"
    detail = f"versioning on, deleted blobs and containers kept {RETENTION_DAYS} days"
    path = f"{names.account_path}/blobServices/default"
    found = arm.call(
        "GET", path, STORAGE_API, "Microsoft.Storage/storageAccounts/blobServices/read"
    )
    properties = dict(found.get("properties", {}))
    policies = ("deleteRetentionPolicy", "containerDeleteRetentionPolicy")
    if properties.get("isVersioningEnabled") is True and all(
        _retains(properties.get(policy)) for policy in policies
    ):
        return Outcome(item, "already correct", detail)
    wanted = {"enabled": True, "days": RETENTION_DAYS}
    properties.update({"isVersioningEnabled": True, **dict.fromkeys(policies, wanted)})
    arm.call(
        "PUT",
        path,
        STORAGE_API,
        "Microsoft.Storage/storageAccounts/blobServices/write",
        body={"properties": properties},
    )
    return Outcome(item, "updated", detail)


def _retains(policy: object) -> bool:
    return (
        isinstance(policy, dict)
        and policy.get("enabled") is True
        and int(policy.get("days", 0)) >= RETENTION_DAYS
    )


def _ensure_container(
    azure: AzureBootstrapClients, names: AzureBootstrapNames, account: dict[str, Any]
) -> Outcome:
    """The state container, through the account's blob endpoint (the data plane, as
    Pulumi itself uses it: a missing data role shows now, not at `pulumi login`)."""
    from azure.core.exceptions import HttpResponseError, ResourceExistsError  # noqa: PLC0415
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415

    item = f"container {names.container}"
    endpoint = azure.blob_endpoint or str(account["properties"]["primaryEndpoints"]["blob"])
    service = BlobServiceClient(endpoint, credential=azure.blob_credential)
    container = service.get_container_client(names.container)
    try:
        container.create_container(metadata=CONTAINER_METADATA)
    except ResourceExistsError:
        public = container.get_container_properties().public_access
        if public is not None:
            raise AzureError(
                f"{COMMAND}: container {names.container} allows anonymous {public} access: "
                "set it to private (the account forbids it from now on) and run again"
            ) from None
        return Outcome(item, "already correct", "exists, private")
    except HttpResponseError as error:
        if error.status_code == 403:
            code = getattr(error, "error_code", None) or 403
            code = getattr(code, "value", code)  # azure-storage-blob's StorageErrorCode
            raise AzureError(
                f"{COMMAND}: Azure denied creating container {names.container} ({code}): "
                "grant the identity running plinth Storage Blob Data Contributor on "
                f"{names.account_path} (pulumi needs it too) and run again"
            ) from None
        raise
    return Outcome(item, "created", "private")


def _ensure_vault(
    arm: RestClient, names: AzureBootstrapNames, tenant: str, found: dict[str, Any] | None
) -> tuple[dict[str, Any], Outcome]:
    item = f"key vault {names.key_vault}"
    detail = f"RBAC authorisation, soft delete ({VAULT_RETENTION_DAYS} days), purge protection"
    if found is None:
        body = {
            "location": names.location,
            "tags": MANAGED_BY,
            "properties": {
                "tenantId": tenant,
                "sku": {"family": "A", "name": "standard"},
                "enableRbacAuthorization": True,
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": VAULT_RETENTION_DAYS,
                "enablePurgeProtection": True,
            },
        }
        arm.call(
            "PUT", names.vault_path, KEY_VAULT_API, "Microsoft.KeyVault/vaults/write", body=body
        )
        created = _provisioned_vault(arm, names)
        return created, Outcome(item, "created", f"{detail}, in {names.location}")
    properties = found.get("properties", {})
    if properties.get("enableRbacAuthorization") is not True:
        raise AzureError(
            f"{COMMAND}: key vault {names.key_vault} authorises with access policies, not "
            "Azure RBAC: switch it to RBAC once its users have roles, or choose another "
            "--key-vault"
        )
    if properties.get("enablePurgeProtection") is True:
        return found, Outcome(item, "already correct", detail)
    # Purge protection can be turned on, never off again; soft delete is always on now.
    updated = arm.call(
        "PATCH",
        names.vault_path,
        KEY_VAULT_API,
        "Microsoft.KeyVault/vaults/write",
        body={"properties": {"enablePurgeProtection": True}},
    )
    return updated, Outcome(item, "updated", f"{detail} (turned purge protection on)")


def _provisioned_vault(arm: RestClient, names: AzureBootstrapNames) -> dict[str, Any]:
    """The new vault once its provisioning has succeeded: Key Vault answers the PUT while
    it still registers the vault's DNS name (provisioningState RegisteringDns), and the
    key cannot be made before the name resolves."""
    deadline = time.monotonic() + LRO_TIMEOUT_S
    while True:
        vault = arm.call("GET", names.vault_path, KEY_VAULT_API, "Microsoft.KeyVault/vaults/read")
        state = vault.get("properties", {}).get("provisioningState", "Succeeded")
        if state == "Succeeded":
            return vault
        if time.monotonic() > deadline:
            raise AzureServiceError(
                f"{COMMAND}: key vault {names.key_vault} is still {state} after "
                f"{LRO_TIMEOUT_S:g} s: run again later"
            )
        time.sleep(arm.poll_interval_s)


def _ensure_key(vault: RestClient, key: str) -> Outcome:
    item = f"key {key}"
    detail = f"RSA {KEY_SIZE}, {', '.join(KEY_OPERATIONS)}"
    found = vault.get(f"/keys/{key}", KEYS_API, "Microsoft.KeyVault/vaults/keys/read")
    if found is not None:
        _check_key_usable(found, key)
        return Outcome(item, "already correct", str(found["key"]["kid"]))
    created = vault.call(
        "POST",
        f"/keys/{key}/create",
        KEYS_API,
        "Microsoft.KeyVault/vaults/keys/create/action",
        body={
            "kty": "RSA",
            "key_size": KEY_SIZE,
            "key_ops": list(KEY_OPERATIONS),
            "attributes": {"enabled": True},
            "tags": MANAGED_BY,
        },
    )
    return Outcome(item, "created", f"{detail}: {created['key']['kid']}")


def _check_key_usable(bundle: dict[str, Any], key: str) -> None:
    """AzureError when the key cannot encrypt and decrypt Pulumi's secrets."""
    web_key = bundle.get("key", {})
    if bundle.get("attributes", {}).get("enabled") is not True:
        raise AzureError(f"{COMMAND}: key {key} is disabled: enable it, or choose another --key")
    if web_key.get("kty") not in ("RSA", "RSA-HSM"):
        raise AzureError(
            f"{COMMAND}: key {key} is {web_key.get('kty')}; Pulumi's azurekeyvault provider "
            "needs an RSA key: choose another --key"
        )
    missing = {"encrypt", "decrypt"} - set(web_key.get("key_ops", []))
    if missing:
        raise AzureError(
            f"{COMMAND}: key {key} does not allow {', '.join(sorted(missing))}, which Pulumi "
            "needs: allow it, or choose another --key"
        )
