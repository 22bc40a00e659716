"""The parts of Azure's REST API definitions the Azure tests rely on, as JSON schemas.

Written from the swagger files of Azure/azure-rest-api-specs for the api-versions Plinth
calls (the file of each schema is named next to it): the required fields, the types and
the enumerations of what Plinth reads or sends, not the whole definitions. The fake
server (tests/plinth/azure_fake.py) validates every body it serves and every body Plinth
sends with them, so a recorded response or a request that strays from the API fails.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator

STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}
STRINGS = {"type": "array", "items": STRING}
TAGS = {"type": "object", "additionalProperties": STRING}


def _object(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


# common-types/resource-management/v5/types.json: ErrorResponse / ErrorDetail.
ERROR_RESPONSE = _object(
    ("error",), error=_object(("code", "message"), code=STRING, message=STRING)
)

# resources/.../Microsoft.Resources/stable/2022-12-01/subscriptions.json: Subscription.
SUBSCRIPTION = _object(
    ("id", "subscriptionId", "tenantId", "state"),
    id=STRING,
    subscriptionId=STRING,
    tenantId=STRING,
    displayName=STRING,
    state={"enum": ["Enabled", "Warned", "PastDue", "Disabled", "Deleted"]},
)

# resources/.../Microsoft.Resources/stable/2021-04-01/resources.json: ResourceGroup
# (`location` is its only required property, in requests and answers alike).
RESOURCE_GROUP = _object(("location",), id=STRING, name=STRING, location=STRING, tags=TAGS)

# storage/.../Microsoft.Storage/stable/2025-01-01/storage.json.
_TLS = {"enum": ["TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"]}
_ACCOUNT_PROPERTIES = {
    "supportsHttpsTrafficOnly": BOOLEAN,
    "minimumTlsVersion": _TLS,
    "allowBlobPublicAccess": BOOLEAN,
    "allowSharedKeyAccess": BOOLEAN,
    "allowCrossTenantReplication": BOOLEAN,
    "defaultToOAuthAuthentication": BOOLEAN,
    "accessTier": {"enum": ["Hot", "Cool", "Premium", "Cold"]},
}
_KIND = {"enum": ["Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage"]}
_SKU_NAME = {
    "enum": [
        "Standard_LRS",
        "Standard_GRS",
        "Standard_RAGRS",
        "Standard_ZRS",
        "Premium_LRS",
        "Premium_ZRS",
        "Standard_GZRS",
        "Standard_RAGZRS",
    ]
}
# StorageAccountCreateParameters: sku, kind and location required.
STORAGE_ACCOUNT_CREATE = _object(
    ("sku", "kind", "location"),
    sku=_object(("name",), name=_SKU_NAME),
    kind=_KIND,
    location=STRING,
    tags=TAGS,
    properties={"type": "object", "properties": _ACCOUNT_PROPERTIES, "additionalProperties": False},
)
# StorageAccountUpdateParameters.
STORAGE_ACCOUNT_UPDATE = _object(
    (),
    properties={"type": "object", "properties": _ACCOUNT_PROPERTIES, "additionalProperties": False},
)
# StorageAccount (TrackedResource: location required).
STORAGE_ACCOUNT = _object(
    ("id", "name", "type", "location"),
    sku=_object(("name",), name=_SKU_NAME),
    kind=_KIND,
    properties=_object(
        ("primaryEndpoints",),
        primaryEndpoints=_object(("blob",), blob=STRING),
        provisioningState={"enum": ["Creating", "ResolvingDNS", "Succeeded"]},
        **_ACCOUNT_PROPERTIES,
    ),
)
# CheckNameAvailabilityResult (the same shape in Microsoft.KeyVault's keyvault.json).
NAME_AVAILABILITY_REQUEST = _object(("name", "type"), name=STRING, type=STRING)
NAME_AVAILABILITY = _object(
    ("nameAvailable",),
    nameAvailable=BOOLEAN,
    reason={"enum": ["AccountNameInvalid", "AlreadyExists"]},
    message=STRING,
)
# blob.json: BlobServiceProperties; DeleteRetentionPolicy.days is 1..365.
_RETENTION = _object((), enabled=BOOLEAN, days={"type": "integer", "minimum": 1, "maximum": 365})
BLOB_SERVICE = _object(
    ("properties",),
    properties=_object(
        (),
        isVersioningEnabled=BOOLEAN,
        deleteRetentionPolicy=_RETENTION,
        containerDeleteRetentionPolicy=_RETENTION,
    ),
)

# keyvault/resource-manager/Microsoft.KeyVault/stable/2024-11-01/keyvault.json.
_VAULT_PROPERTIES = {
    "tenantId": STRING,
    "sku": _object(
        ("family", "name"), family={"enum": ["A"]}, name={"enum": ["standard", "premium"]}
    ),
    "enableRbacAuthorization": BOOLEAN,
    "enableSoftDelete": BOOLEAN,
    "softDeleteRetentionInDays": {"type": "integer", "minimum": 7, "maximum": 90},
    "enablePurgeProtection": {"enum": [True]},  # the API refuses false
    "vaultUri": STRING,
    "provisioningState": {"enum": ["Succeeded", "RegisteringDns"]},
}
# VaultCreateOrUpdateParameters: location and properties (tenantId, sku) required.
VAULT_CREATE = _object(
    ("location", "properties"),
    location=STRING,
    tags=TAGS,
    properties={**_object(("tenantId", "sku")), "properties": _VAULT_PROPERTIES},
)
VAULT_PATCH = _object((), properties={"type": "object", "properties": _VAULT_PROPERTIES})
VAULT = _object(
    ("id", "name", "type", "location", "properties"),
    properties={**_object(("tenantId", "sku", "vaultUri")), "properties": _VAULT_PROPERTIES},
)

# keyvault/data-plane/Microsoft.KeyVault/stable/7.5/keys.json.
_KEY_OPS = {
    "type": "array",
    "items": {
        "enum": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"]
    },
}
_KTY = {"enum": ["EC", "EC-HSM", "RSA", "RSA-HSM", "oct", "oct-HSM"]}
KEY_CREATE = _object(
    ("kty",),
    kty=_KTY,
    key_size=INTEGER,
    key_ops=_KEY_OPS,
    attributes=_object((), enabled=BOOLEAN),
    tags=TAGS,
)
KEY_BUNDLE = _object(
    ("key", "attributes"),
    key=_object(("kid", "kty"), kid=STRING, kty=_KTY, key_ops=_KEY_OPS, n=STRING, e=STRING),
    attributes=_object(("enabled",), enabled=BOOLEAN, recoveryLevel=STRING),
    tags=TAGS,
)
KEY_VAULT_ERROR = ERROR_RESPONSE  # KeyVaultError: {"error": {"code", "message"}}

# compute/.../Microsoft.Compute/Skus/stable/2021-07-01/skus.json: ResourceSkusResult.
_NAME_VALUE = _object((), name=STRING, value=STRING)
RESOURCE_SKUS = _object(
    ("value",),
    value={
        "type": "array",
        "items": _object(
            (),
            resourceType=STRING,
            name=STRING,
            family=STRING,
            locations=STRINGS,
            locationInfo={
                "type": "array",
                "items": _object((), location=STRING, zones=STRINGS),
            },
            capabilities={"type": "array", "items": _NAME_VALUE},
            restrictions={
                "type": "array",
                "items": _object(
                    (),
                    type={"enum": ["Location", "Zone"]},
                    values=STRINGS,
                    restrictionInfo=_object((), locations=STRINGS, zones=STRINGS),
                    reasonCode={"enum": ["QuotaId", "NotAvailableForSubscription"]},
                ),
            },
        ),
    },
    nextLink=STRING,
)

# compute/.../Microsoft.Compute/ComputeRP/stable/2024-11-01/ComputeRP.json: ListUsagesResult.
COMPUTE_USAGES = _object(
    ("value",),
    value={
        "type": "array",
        "items": _object(
            ("unit", "currentValue", "limit", "name"),
            unit={"enum": ["Count"]},
            currentValue=INTEGER,
            limit=INTEGER,
            name=_object((), value=STRING, localizedValue=STRING),
        ),
    },
    nextLink=STRING,
)

# containerservice/.../aks/stable/2025-07-01/managedClusters.json: KubernetesVersionListResult.
KUBERNETES_VERSIONS = _object(
    (),
    values={
        "type": "array",
        "items": _object(
            (),
            version=STRING,
            isDefault=BOOLEAN,
            isPreview=BOOLEAN,
            capabilities=_object(
                (),
                supportPlan={
                    "type": "array",
                    "items": {"enum": ["KubernetesOfficial", "AKSLongTermSupport"]},
                },
            ),
            patchVersions={
                "type": "object",
                "additionalProperties": _object((), upgrades=STRINGS),
            },
        ),
    },
)


def problems(schema: dict[str, Any], body: Any) -> list[str]:
    """Where `body` breaks `schema`, one line each (empty when it conforms)."""
    errors = Draft7Validator(schema).iter_errors(body)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors)
