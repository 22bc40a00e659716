"""The real-server test of MLflow's contract (issue 13, item 4): see mlflow_contract.py."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from plinth import helm
from plinth.rendering import parse_manifests
from tests.components.mlflow_contract import (
    ContractError,
    Expectation,
    LocalAddresses,
    LocalPostgres,
    check_contract,
    free_port,
    local_postgres,
    mlflow_deployment,
    s3_client,
)
from tests.conftest import upstream_dir

DATABASE_HOST = "mlflow-db-rw.mlflow.svc"
OBJECT_STORE_URL = "http://minio.storage.svc:9000"
EXPECTATION = Expectation(
    bucket="ml-artifacts",
    prefix="mlflow",
    database="mlflow",
    database_user="mlflow",
    database_password="db-password-of-the-test",  # noqa: S106 (the test's own server)
    admin_user="admin",
    admin_password="admin-password-of-the-test",  # noqa: S106 (the test's own server)
)


def _secret(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """The MLflow chart's objects, plus the Secrets the cluster provides."""
    values = {
        "backendStore": {
            "postgres": {"enabled": True, "host": DATABASE_HOST, "port": 5432, "database": "mlflow"},
            "existingDatabaseSecret": {
                "name": "mlflow-db-app", "usernameKey": "username", "passwordKey": "password",
            },
        },
        "artifactRoot": {
            "proxiedArtifactStorage": True,
            "s3": {
                "enabled": True, "bucket": "ml-artifacts", "path": "mlflow",
                "existingSecret": {
                    "name": "mlflow-s3",
                    "keyOfAccessKeyId": "AWS_ACCESS_KEY_ID",
                    "keyOfSecretAccessKey": "AWS_SECRET_ACCESS_KEY",
                },
            },
        },
        "extraEnvVars": {"MLFLOW_S3_ENDPOINT_URL": OBJECT_STORE_URL},
        "auth": {
            "enabled": True,
            "existingAdminSecret": {
                "name": "mlflow-admin", "usernameKey": "username", "passwordKey": "password",
            },
            "postgres": {
                "enabled": True, "host": DATABASE_HOST, "port": 5432, "database": "mlflow",
                "existingSecret": {
                    "name": "mlflow-db-app", "usernameKey": "username", "passwordKey": "password",
                },
            },
        },
        "flaskServerSecretKey": "contract-test",
    }  # fmt: skip
    texts = helm.render(
        upstream_dir() / "mlflow/1.11.5/charts/mlflow",
        values,
        release="mlflow",
        namespace="mlflow",
        kube_version="v1.33.0",
        api_versions=[],
        include_crds=False,
    )
    objects = parse_manifests(text for path, text in sorted(texts.items()) if "NOTES" not in path)
    provided = [
        _secret("mlflow-db-app", {"username": "mlflow", "password": EXPECTATION.database_password}),
        _secret("mlflow-admin", {"username": "admin", "password": EXPECTATION.admin_password}),
        _secret("mlflow-s3", {"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}),
    ]
    return [*objects, *provided]


@pytest.fixture(scope="module")
def postgres() -> Iterator[LocalPostgres]:
    with local_postgres() as server:
        server.create_database(
            EXPECTATION.database, EXPECTATION.database_user, EXPECTATION.database_password
        )
        yield server


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3_client(url).create_bucket(Bucket=EXPECTATION.bucket)
    yield url
    server.stop()


@pytest.fixture
def addresses(postgres: LocalPostgres, moto_s3: str) -> LocalAddresses:
    return LocalAddresses(
        listen_port=free_port(),
        database_hosts=(DATABASE_HOST,),
        database_port=5432,
        local_database=("127.0.0.1", postgres.port),
        object_store_url=OBJECT_STORE_URL,
        local_object_store_url=moto_s3,
    )


def _check(objects: list[dict[str, Any]], addresses: LocalAddresses, moto_s3: str, tmp_path: Path) -> Any:
    return check_contract(objects, EXPECTATION, addresses, s3_client(moto_s3), tmp_path)


def test_contract_holds(
    rendered: list[dict[str, Any]], addresses: LocalAddresses, moto_s3: str, tmp_path: Path
) -> None:
    report = _check(rendered, addresses, moto_s3, tmp_path)
    assert report.artifact_key.startswith(f"{EXPECTATION.prefix}/")
    assert report.run["model_version"]["version"] == "1"


def _main_args(objects: list[dict[str, Any]]) -> list[str]:
    container = mlflow_deployment(objects)["spec"]["template"]["spec"]["containers"][0]
    return container["args"]  # type: ignore[no-any-return]


def test_auth_off_fails(
    rendered: list[dict[str, Any]], addresses: LocalAddresses, moto_s3: str, tmp_path: Path
) -> None:
    broken = copy.deepcopy(rendered)
    args = _main_args(broken)
    args[:] = [arg for arg in args if not arg.startswith("--app-name")]
    with pytest.raises(ContractError, match="unauthenticated request was answered 200"):
        _check(broken, addresses, moto_s3, tmp_path)


def test_wrong_bucket_fails(
    rendered: list[dict[str, Any]], addresses: LocalAddresses, moto_s3: str, tmp_path: Path
) -> None:
    broken = copy.deepcopy(rendered)
    args = _main_args(broken)
    args[:] = [arg.replace("s3://ml-artifacts/", "s3://other-bucket/") for arg in args]
    with pytest.raises(ContractError, match="client failed"):
        _check(broken, addresses, moto_s3, tmp_path)


def test_wrong_database_fails(
    rendered: list[dict[str, Any]], addresses: LocalAddresses, moto_s3: str, tmp_path: Path
) -> None:
    broken = copy.deepcopy(rendered)
    for obj in broken:
        if obj["kind"] == "ConfigMap" and "PGDATABASE" in obj.get("data", {}):
            obj["data"]["PGDATABASE"] = "other"
    with pytest.raises(ContractError, match="exited"):
        _check(broken, addresses, moto_s3, tmp_path)
