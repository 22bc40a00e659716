"""The recorded Azure responses of tests/fixtures/azure/ conform to the API definitions
(tests/plinth/azure_api.py), and those definitions do refuse a body that strays; the Azure
modules import no Azure SDK until a command runs."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.plinth import azure_api
from tests.plinth.azure_fake import FIXTURES, recorded

SCHEMAS = {
    "subscription": azure_api.SUBSCRIPTION,
    "resource_group": azure_api.RESOURCE_GROUP,
    "storage_account": azure_api.STORAGE_ACCOUNT,
    "blob_service": azure_api.BLOB_SERVICE,
    "vault": azure_api.VAULT,
    "key_bundle": azure_api.KEY_BUNDLE,
    "resource_skus": azure_api.RESOURCE_SKUS,
    "compute_usages": azure_api.COMPUTE_USAGES,
    "kubernetes_versions": azure_api.KUBERNETES_VERSIONS,
    "error_authorization_failed": azure_api.ERROR_RESPONSE,
    "error_not_found": azure_api.ERROR_RESPONSE,
    "error_key_not_found": azure_api.KEY_VAULT_ERROR,
}


def test_every_recording_has_a_schema() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(SCHEMAS)


@pytest.mark.parametrize("fixture", sorted(SCHEMAS))
def test_each_recording_conforms_to_its_api_definition(fixture: str) -> None:
    assert azure_api.problems(SCHEMAS[fixture], recorded(fixture)) == []


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(body))
    inner = copy
    for key in path[:-1]:
        inner = inner[key]
    del inner[path[-1]]
    return copy


@pytest.mark.parametrize(
    ("fixture", "path"),
    [
        ("storage_account", ("properties", "primaryEndpoints")),
        ("vault", ("properties", "tenantId")),
        ("key_bundle", ("key", "kty")),
        ("compute_usages", ("value", "0", "limit")),
        ("subscription", ("tenantId",)),
    ],
)
def test_a_recording_missing_a_required_field_is_refused(
    fixture: str, path: tuple[str, ...]
) -> None:
    body = recorded(fixture)
    if path[0] == "value":
        body["value"][0] = _without(body["value"][0], *path[2:])
    else:
        body = _without(body, *path)
    assert azure_api.problems(SCHEMAS[fixture], body) != []


def test_a_value_outside_an_enumeration_is_refused() -> None:
    account = recorded("storage_account")
    account["properties"]["minimumTlsVersion"] = "TLS1.2"  # the API spells it TLS1_2
    assert azure_api.problems(azure_api.STORAGE_ACCOUNT, account) != []


def test_the_azure_modules_load_no_azure_sdk_until_a_command_runs() -> None:
    probe = (
        "import sys\n"
        "import plinth.bootstrap_azure, plinth.preflight_azure, plinth.azure_session\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'azure', 'msal'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
