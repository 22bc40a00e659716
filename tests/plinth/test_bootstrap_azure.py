"""`plinth bootstrap azure` offline: Resource Manager and Key Vault answered by the local
fake (tests/plinth/azure_fake.py, recorded response shapes, validated against the API
definitions), the state container created in Azurite's Blob data plane. What it creates,
that a second run changes nothing, and the one-line refusals (names, taken names, roles,
credentials)."""

from __future__ import annotations

import dataclasses
import shlex
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.identity import CredentialUnavailableError
from azure.storage.blob import BlobServiceClient

from plinth import bootstrap_azure as module
from plinth.azure_session import AzureError, AzureRequestError, RestClient
from plinth.bootstrap_azure import (
    ACCOUNT_HARDENING,
    AzureBootstrapClients,
    AzureBootstrapNames,
    AzureBootstrapResult,
    bootstrap_azure,
)
from plinth.cli import EXIT_BAD_INPUT, EXIT_FAILED, main
from stacks.config import ConfigError
from tests.plinth.azure_fake import SUBSCRIPTION, TENANT, FakeAzure, FakeCredential, serving
from tests.plinth.azurite import Azurite, running_azurite

LOCATION = "westeurope"
NAMES = AzureBootstrapNames.derived(SUBSCRIPTION, LOCATION)
CLI = ["bootstrap", "azure", "--subscription", SUBSCRIPTION, "--location", LOCATION]


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with running_azurite(tmp_path_factory.mktemp("azurite"), NAMES.storage_account) as running:
        yield running


@pytest.fixture
def fake() -> Iterator[FakeAzure]:
    with serving(FakeAzure(location=LOCATION)) as running:
        yield running
    assert running.violations == []


@pytest.fixture
def blob_service(azurite: Azurite) -> BlobServiceClient:
    """Azurite's account, emptied of the containers an earlier test made."""
    service = BlobServiceClient(azurite.blob_endpoint, credential=azurite.credential())
    for container in service.list_containers():
        service.delete_container(container.name)
    return service


@pytest.fixture
def clients(
    fake: FakeAzure, azurite: Azurite, blob_service: BlobServiceClient
) -> AzureBootstrapClients:
    credential = FakeCredential()
    return AzureBootstrapClients(
        arm=RestClient(credential, endpoint=fake.url, poll_interval_s=0),
        credential=credential,
        blob_credential=azurite.credential(),
        vault_endpoint=fake.vault_endpoint,
        blob_endpoint=blob_service.url,  # the emptied account's endpoint
    )


def statuses(result: AzureBootstrapResult) -> dict[str, str]:
    return {outcome.item: outcome.status for outcome in result.outcomes}


def resource(fake: FakeAzure, path: str) -> dict[str, Any]:
    return fake.resources[path.lower()]


def test_creates_a_hardened_account_its_container_and_a_protected_vault_with_a_key(
    fake: FakeAzure, clients: AzureBootstrapClients, blob_service: BlobServiceClient
) -> None:
    result = bootstrap_azure(NAMES, clients)

    assert set(statuses(result).values()) == {"created", "updated"}
    account = resource(fake, NAMES.account_path)
    assert account["kind"] == "StorageV2"
    assert account["location"] == LOCATION
    for setting, value in ACCOUNT_HARDENING.items():
        assert account["properties"][setting] == value, setting
    assert account["properties"]["allowSharedKeyAccess"] is False
    assert account["properties"]["minimumTlsVersion"] == "TLS1_2"
    blob = resource(fake, f"{NAMES.account_path}/blobServices/default")["properties"]
    assert blob["isVersioningEnabled"] is True
    assert blob["deleteRetentionPolicy"] == {
        "allowPermanentDelete": False,
        "enabled": True,
        "days": 30,
    }
    assert blob["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}
    (container,) = blob_service.list_containers(include_metadata=True)
    assert container.name == NAMES.container
    assert container.public_access is None
    assert container.metadata == {"managed_by": "plinth-bootstrap"}
    vault = resource(fake, NAMES.vault_path)["properties"]
    assert vault["tenantId"] == TENANT
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert vault["enableSoftDelete"] is True
    key = fake.keys[NAMES.key]["key"]
    assert key["kty"] == "RSA"
    assert {"encrypt", "decrypt"} <= set(key["key_ops"])


def test_the_storage_account_create_is_followed_to_its_end(
    fake: FakeAzure, clients: AzureBootstrapClients
) -> None:
    bootstrap_azure(NAMES, clients)
    operations = [p for m, p, _ in fake.requests if m == "GET" and "/operations/" in p]
    assert len(operations) == 2  # 202 (still running), then 200 with the account


def test_the_key_waits_for_a_new_vault_to_finish_provisioning(
    fake: FakeAzure, clients: AzureBootstrapClients
) -> None:
    bootstrap_azure(NAMES, clients)
    vault_gets = [
        i for i, (m, p, _) in enumerate(fake.requests) if m == "GET" and p == NAMES.vault_path
    ]
    first_key_request = next(i for i, (_, p, _) in enumerate(fake.requests) if "/keys/" in p)
    # The GET before the vault's PUT (absent), one still RegisteringDns, one Succeeded.
    assert len(vault_gets) == 3
    assert vault_gets[-1] < first_key_request


def test_a_second_run_finds_everything_in_place_and_changes_nothing(
    fake: FakeAzure, clients: AzureBootstrapClients, blob_service: BlobServiceClient
) -> None:
    first = bootstrap_azure(NAMES, clients)
    writes = len(fake.writes())
    second = bootstrap_azure(NAMES, clients)

    assert set(statuses(second).values()) == {"already correct"}
    assert [o.item for o in second.outcomes] == [o.item for o in first.outcomes]
    assert len(fake.writes()) == writes
    assert len(list(blob_service.list_containers())) == 1
    assert len(fake.keys) == 1
    assert f"0 created, 0 updated, {len(first.outcomes)} already correct" in second.report()


def test_an_existing_account_is_corrected_where_it_drifted(
    fake: FakeAzure, clients: AzureBootstrapClients
) -> None:
    bootstrap_azure(NAMES, clients)
    account = resource(fake, NAMES.account_path)
    account["properties"]["allowSharedKeyAccess"] = True
    account["properties"]["minimumTlsVersion"] = "TLS1_0"
    resource(fake, f"{NAMES.account_path}/blobServices/default")["properties"][
        "isVersioningEnabled"
    ] = False

    result = bootstrap_azure(NAMES, clients)

    item = f"storage account {NAMES.storage_account}"
    assert statuses(result)[item] == "updated"
    assert statuses(result)["blob versioning and soft delete"] == "updated"
    (patch,) = [b for m, p, b in fake.requests if m == "PATCH" and "storageAccounts" in p]
    assert patch["properties"] == {"allowSharedKeyAccess": False, "minimumTlsVersion": "TLS1_2"}
    assert resource(fake, NAMES.account_path)["properties"]["allowSharedKeyAccess"] is False


@pytest.mark.parametrize(
    ("taken", "flag"),
    [(NAMES.storage_account, "--storage-account"), (NAMES.key_vault, "--key-vault")],
)
def test_a_global_name_taken_elsewhere_is_refused_before_anything_is_made(
    fake: FakeAzure, clients: AzureBootstrapClients, taken: str, flag: str
) -> None:
    fake.taken_names.add(taken)
    with pytest.raises(AzureError, match=f"choose another {flag}") as refused:
        bootstrap_azure(NAMES, clients)
    assert "AlreadyExists" in str(refused.value)
    assert ("az keyvault recover" in str(refused.value)) == (flag == "--key-vault")
    assert fake.writes() == []


def test_a_vault_with_access_policies_is_refused(
    fake: FakeAzure, clients: AzureBootstrapClients
) -> None:
    bootstrap_azure(NAMES, clients)
    resource(fake, NAMES.vault_path)["properties"]["enableRbacAuthorization"] = False
    with pytest.raises(AzureError, match="access policies"):
        bootstrap_azure(NAMES, clients)


def test_a_vault_without_purge_protection_gets_it(
    fake: FakeAzure, clients: AzureBootstrapClients
) -> None:
    bootstrap_azure(NAMES, clients)
    del resource(fake, NAMES.vault_path)["properties"]["enablePurgeProtection"]
    result = bootstrap_azure(NAMES, clients)
    assert statuses(result)[f"key vault {NAMES.key_vault}"] == "updated"
    assert resource(fake, NAMES.vault_path)["properties"]["enablePurgeProtection"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"attributes": {"enabled": False}}, "is disabled"),
        ({"key": {"kty": "EC"}}, "needs an RSA key"),
        ({"key": {"key_ops": ["sign", "verify"]}}, "does not allow decrypt, encrypt"),
    ],
)
def test_a_key_pulumi_cannot_use_is_refused(
    fake: FakeAzure, clients: AzureBootstrapClients, change: dict[str, Any], message: str
) -> None:
    bootstrap_azure(NAMES, clients)
    for part, values in change.items():
        fake.keys[NAMES.key][part].update(values)
    with pytest.raises(AzureError, match=message):
        bootstrap_azure(NAMES, clients)


def test_a_blob_data_role_missing_is_named(
    clients: AzureBootstrapClients, azurite: Azurite
) -> None:
    # Azurite refuses a wrong key with 403, as Azure refuses a token without the data role.
    wrong = {"account_name": azurite.account, "account_key": "d3Jvbmc="}
    denied = dataclasses.replace(clients, blob_credential=wrong)
    with pytest.raises(AzureError, match="Storage Blob Data Contributor") as refused:
        bootstrap_azure(NAMES, denied)
    assert "(AuthorizationFailure)" in str(refused.value)


@pytest.mark.parametrize(
    ("flags", "culprit"),
    [
        (["--storage-account", "Plinth-State"], "--storage-account"),
        (["--storage-account", "ab"], "--storage-account"),
        (["--container", "state--pulumi"], "--container"),
        (["--key-vault", "1vault"], "--key-vault"),
        (["--key-vault", "vault-"], "--key-vault"),
        (["--key", "pulumi_secrets"], "--key"),
        (["--resource-group", "group."], "--resource-group"),
        (["--location", "West Europe"], "--location"),
    ],
)
def test_bad_names_exit_2_before_any_azure_call(
    fake: FakeAzure,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    culprit: str,
) -> None:
    monkeypatch.setattr(AzureBootstrapClients, "connect", _no_connection)
    code = main([*CLI, *flags])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert error.startswith(f"plinth: error: {culprit} ")
    assert len(error.splitlines()) == 1
    assert fake.requests == []


def test_a_subscription_that_is_not_a_guid_is_refused() -> None:
    with pytest.raises(ConfigError, match="--subscription"):
        AzureBootstrapNames.derived("my-subscription", LOCATION).validate()


def test_default_names_are_deterministic_and_differ_by_subscription() -> None:
    other = AzureBootstrapNames.derived("00000000-0000-0000-0000-000000000001", LOCATION)
    again = AzureBootstrapNames.derived(SUBSCRIPTION.upper(), LOCATION)
    assert again == NAMES
    assert other.storage_account != NAMES.storage_account
    assert other.key_vault != NAMES.key_vault
    NAMES.validate()
    other.validate()


def _no_connection() -> AzureBootstrapClients:
    raise AssertionError("bootstrap connected to Azure before checking its names")


def test_the_cli_reports_each_item_and_prints_the_pulumi_commands_to_run_next(
    clients: AzureBootstrapClients,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(AzureBootstrapClients, "connect", lambda: clients)
    assert main(CLI) == 0
    first = capsys.readouterr().out.splitlines()
    assert main(CLI) == 0
    second = capsys.readouterr().out.splitlines()

    commands = [shlex.split(line) for line in first if line.strip().startswith("pulumi ")]
    assert [argv[:2] for argv in commands] == [["pulumi", "login"], ["pulumi", "stack"]]
    login = urlsplit(commands[0][2])
    assert (login.scheme, login.netloc) == ("azblob", NAMES.container)
    assert parse_qs(login.query) == {"storage_account": [NAMES.storage_account]}
    stack_init = commands[1]
    secrets = urlsplit(stack_init[stack_init.index("--secrets-provider") + 1])
    assert secrets.scheme == "azurekeyvault"
    assert secrets.netloc == f"{NAMES.key_vault}.vault.azure.net"
    assert secrets.path == f"/keys/{NAMES.key}"
    done = [line for line in first if line.startswith(("  created", "  updated"))]
    items = [line for line in second if line.startswith("  already correct  ")]
    assert len(items) == len(done) == 6
    assert f"0 created, 0 updated, {len(items)} already correct" in second


def test_a_missing_role_exits_2_naming_the_action_and_every_action_needed(
    fake: FakeAzure,
    clients: AzureBootstrapClients,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.denied.add("Microsoft.KeyVault/vaults/write")
    monkeypatch.setattr(AzureBootstrapClients, "connect", lambda: clients)

    code = main(CLI)

    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert len(error.splitlines()) == 1
    assert "Azure denied Microsoft.KeyVault/vaults/write (AuthorizationFailed)" in error
    assert all(action in error for action in module.ACTIONS)


def test_a_key_vault_data_role_missing_exits_2(
    fake: FakeAzure,
    clients: AzureBootstrapClients,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.denied.add("Microsoft.KeyVault/vaults/keys/read")
    monkeypatch.setattr(AzureBootstrapClients, "connect", lambda: clients)
    assert main(CLI) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "Azure denied Microsoft.KeyVault/vaults/keys/read (Forbidden)" in error


def test_no_credentials_exit_2_saying_how_to_provide_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class NoCredential:
        def get_token(self, *_: str) -> Any:
            raise CredentialUnavailableError(
                "DefaultAzureCredential failed to retrieve a token from the included "
                "credentials.\nAttempted credentials: ..."
            )

    monkeypatch.setattr(module, "default_credential", NoCredential)
    code = main(CLI)
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert len(error.splitlines()) == 1
    assert "az login" in error


def test_the_module_docstring_lists_every_action_bootstrap_calls() -> None:
    assert module.__doc__ is not None
    assert [a for a in module.ACTIONS if a not in module.__doc__] == []


def test_the_fake_refuses_a_request_that_strays_from_the_api(fake: FakeAzure) -> None:
    """The validation the other tests rely on: a body without a required field fails."""
    client = RestClient(FakeCredential(), endpoint=fake.url, poll_interval_s=0)
    with pytest.raises(AzureRequestError, match="400 InvalidRequest"):
        client.call("PUT", NAMES.account_path, "2025-01-01", "write", body={"location": LOCATION})
    assert fake.violations
    fake.violations.clear()


def test_azure_out_of_reach_exits_1_with_one_line(
    clients: AzureBootstrapClients,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as closed:  # a port nothing listens on once it is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    arm = RestClient(clients.credential, endpoint=f"http://127.0.0.1:{port}", poll_interval_s=0)
    monkeypatch.setattr(
        AzureBootstrapClients, "connect", lambda: dataclasses.replace(clients, arm=arm)
    )
    assert main(CLI) == EXIT_FAILED
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1
    assert f"cannot reach 127.0.0.1:{port}" in error
