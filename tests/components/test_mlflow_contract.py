"""The real-server test of MLflow's contract (issue 13, item 4): see mlflow_contract.py.

The objects are the ones `plinth synth onprem` renders (an existing cluster: S3-compatible
artifact store, CloudNativePG database). What a real cluster adds to them, the test adds:

- the operator's part: CloudNativePG creates the role and database the Cluster's
  `bootstrap.initdb` names and a password into the Secret `<cluster>-app`; the test
  creates the role and database the environment's config names in its PostgreSQL and
  fills that Secret with the same password;
- the team's part: the Secrets the README has the team create (the S3 key pair, the
  admin's credentials, the Flask secret key), with the keys the docs name.

Then each scenario is one MLflow start: the rendering as it is must keep the contract;
each broken rendering (wrong bucket, wrong database, auth off, a client's Host refused)
must fail it, for the reason it is broken.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from moto.server import ThreadedMotoServer

from components.mesh import COMPONENT as MESH
from components.mlflow import COMPONENT as MLFLOW
from components.mlflow.args import MlflowArgs
from components.mlflow.database.cloudnative_pg import (
    POSTGRES_PORT,
    app_secret,
    read_write_service,
)
from components.mlflow.values import FLASK_SECRET, FLASK_SECRET_KEY
from tests.components.mlflow_contract import (
    ContractError,
    ContractReport,
    Expectation,
    LocalAddresses,
    LocalPostgres,
    check_contract,
    free_port,
    local_postgres,
    mlflow_deployment,
    s3_client,
)
from tests.conftest import SynthesizedEnvironment

ENVIRONMENT = "onprem"
# The passwords the test's operator and team choose (its own throwaway servers).
DATABASE_PASSWORD = "operator-chosen-password"  # noqa: S105
ADMIN_PASSWORD = "team-chosen-admin-password"  # noqa: S105


@pytest.fixture(scope="module")
def onprem(synthesized: dict[str, SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return synthesized[ENVIRONMENT]


@pytest.fixture(scope="module")
def settings(onprem: SynthesizedEnvironment) -> MlflowArgs:
    """The environment's `plinth:mlflow` settings."""
    return onprem.environment.platform.args(MLFLOW)


@pytest.fixture(scope="module")
def expectation(onprem: SynthesizedEnvironment, settings: MlflowArgs) -> Expectation:
    """What the environment's config names: the bucket, the database, the admin, the hosts."""
    assert settings.s3_endpoint is not None, f"{ENVIRONMENT} has no S3-compatible store"
    gateway_hosts = onprem.environment.platform.args(MESH).gateway.hosts
    return Expectation(
        bucket=settings.s3_endpoint.bucket,
        prefix=settings.artifact_prefix,
        database=settings.database.name,
        database_user=settings.database.username,
        database_password=DATABASE_PASSWORD,
        admin_user=settings.admin_username,
        admin_password=ADMIN_PASSWORD,
        client_hosts=(settings.routed_host(gateway_hosts), _jobs_tracking_host(onprem.objects)),
    )


def _jobs_tracking_host(objects: list[dict[str, Any]]) -> str:
    """The Host header of the tracking URI the jobs' ConfigMap gives them."""
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and "MLFLOW_TRACKING_URI" in (obj.get("data") or {}):
            return str(urlsplit(obj["data"]["MLFLOW_TRACKING_URI"]).netloc)
    raise AssertionError("no ConfigMap gives jobs MLFLOW_TRACKING_URI")


def _secret(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


@pytest.fixture(scope="module")
def rendered(
    onprem: SynthesizedEnvironment, settings: MlflowArgs, expectation: Expectation
) -> list[dict[str, Any]]:
    """MLflow's namespace as the cluster holds it: what Plinth renders there, plus the
    Secrets the operator and the team create (unless Plinth renders them itself)."""
    assert settings.s3_endpoint is not None
    objects = [
        obj
        for obj in onprem.objects
        if (obj.get("metadata") or {}).get("namespace") == settings.namespace
    ]
    cluster_name = settings.database.cloudnative_pg.cluster_name
    provided = [
        _secret(
            app_secret(cluster_name),
            {"username": expectation.database_user, "password": expectation.database_password},
        ),
        _secret(
            settings.admin_secret,
            {"username": expectation.admin_user, "password": expectation.admin_password},
        ),
        _secret(
            settings.s3_endpoint.credentials_secret,
            {"AWS_ACCESS_KEY_ID": "team-key-id", "AWS_SECRET_ACCESS_KEY": "team-secret-key"},
        ),
        _secret(FLASK_SECRET, {FLASK_SECRET_KEY: "team-chosen-flask-key"}),
    ]
    names = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Secret"}
    return [*objects, *(secret for secret in provided if secret["metadata"]["name"] not in names)]


@pytest.fixture(scope="module")
def postgres(expectation: Expectation) -> Iterator[LocalPostgres]:
    """PostgreSQL holding only the database and role the environment's config names."""
    with local_postgres() as server:
        server.create_database(
            expectation.database, expectation.database_user, expectation.database_password
        )
        yield server


@pytest.fixture(scope="module")
def moto_s3(expectation: Expectation) -> Iterator[str]:
    """moto's S3 server holding only the bucket the environment's config names."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3_client(url).create_bucket(Bucket=expectation.bucket)
    yield url
    server.stop()


@pytest.fixture
def addresses(settings: MlflowArgs, postgres: LocalPostgres, moto_s3: str) -> LocalAddresses:
    """The in-cluster addresses the config names, and the local servers standing in."""
    assert settings.s3_endpoint is not None
    service = read_write_service(settings.database.cloudnative_pg.cluster_name)
    namespace = settings.namespace
    return LocalAddresses(
        listen_port=free_port(),
        database_hosts=(
            service,
            f"{service}.{namespace}",
            f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.cluster.local",
        ),
        database_port=POSTGRES_PORT,
        local_database=("127.0.0.1", postgres.port),
        object_store_url=settings.s3_endpoint.endpoint_url.rstrip("/"),
        local_object_store_url=moto_s3,
    )


@pytest.fixture
def contract(
    expectation: Expectation, addresses: LocalAddresses, moto_s3: str, tmp_path: Path
) -> Any:
    """The contract check of some objects, against this module's servers."""

    def check(objects: list[dict[str, Any]]) -> ContractReport:
        return check_contract(objects, expectation, addresses, s3_client(moto_s3), tmp_path)

    return check


def test_the_rendered_configuration_keeps_the_contract(
    rendered: list[dict[str, Any]], contract: Any, expectation: Expectation
) -> None:
    report = contract(rendered)
    assert report.artifact_key.startswith(f"{expectation.prefix}/")
    assert report.run["model_version"]["version"] == "1"


def _server_args(objects: list[dict[str, Any]]) -> list[str]:
    containers = mlflow_deployment(objects)["spec"]["template"]["spec"]["containers"]
    container = next(c for c in containers if c["command"] == ["mlflow"])
    return container["args"]  # type: ignore[no-any-return]


def test_auth_off_breaks_the_contract(rendered: list[dict[str, Any]], contract: Any) -> None:
    broken = copy.deepcopy(rendered)
    args = _server_args(broken)
    args[:] = [arg for arg in args if not arg.startswith("--app-name=")]
    with pytest.raises(ContractError, match="unauthenticated request was answered 200, not 401"):
        contract(broken)


def test_a_wrong_bucket_breaks_the_contract(
    rendered: list[dict[str, Any]], contract: Any, expectation: Expectation
) -> None:
    broken = copy.deepcopy(rendered)
    args = _server_args(broken)
    destination = f"s3://{expectation.bucket}/"
    assert any(destination in arg for arg in args)
    args[:] = [arg.replace(destination, "s3://another-bucket/") for arg in args]
    with pytest.raises(ContractError, match=r"client failed.*\(NoSuchBucket\)"):
        contract(broken)


def test_a_wrong_database_breaks_the_contract(
    rendered: list[dict[str, Any]], contract: Any, expectation: Expectation
) -> None:
    broken = copy.deepcopy(rendered)
    environment = next(
        obj for obj in broken if obj["kind"] == "ConfigMap" and "PGDATABASE" in obj.get("data", {})
    )
    assert environment["data"]["PGDATABASE"] == expectation.database
    environment["data"]["PGDATABASE"] = "another_database"
    with pytest.raises(ContractError, match='database "another_database" does not exist'):
        contract(broken)


def test_a_host_clients_use_but_mlflow_refuses_breaks_the_contract(
    rendered: list[dict[str, Any]], contract: Any, expectation: Expectation
) -> None:
    broken = copy.deepcopy(rendered)
    gateway_host = expectation.client_hosts[0]
    environment = next(
        obj
        for obj in broken
        if obj["kind"] == "ConfigMap" and "MLFLOW_SERVER_ALLOWED_HOSTS" in obj.get("data", {})
    )
    allowed = environment["data"]["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert gateway_host in allowed
    environment["data"]["MLFLOW_SERVER_ALLOWED_HOSTS"] = ",".join(
        host for host in allowed if host != gateway_host
    )
    with pytest.raises(ContractError, match=f"with Host {gateway_host}: HTTP 403"):
        contract(broken)


MAPPING = LocalAddresses(
    listen_port=15000,
    database_hosts=("db-rw", "db-rw.ns.svc"),
    database_port=5432,
    local_database=("127.0.0.1", 15432),
    object_store_url="https://s3.example.com",
    local_object_store_url="http://127.0.0.1:19000",
)


def test_the_mapping_points_the_server_at_the_local_servers() -> None:
    argv, environment = MAPPING.localize(
        ["server", "--host=0.0.0.0", "--port=5000", "--backend-store-uri=postgresql://"],
        {"PGHOST": "db-rw.ns.svc", "PGPORT": "5432", "URI": "pg://u:p@db-rw:5432/mlflow",
         "MLFLOW_S3_ENDPOINT_URL": "https://s3.example.com"},
        container_port=5000,
    )  # fmt: skip
    assert argv == [
        "server",
        "--host=127.0.0.1",
        "--port=15000",
        "--backend-store-uri=postgresql://",
    ]
    assert environment == {
        "PGHOST": "127.0.0.1",
        "PGPORT": "15432",
        "URI": "pg://u:p@127.0.0.1:15432/mlflow",
        "MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:19000",
    }


def test_the_mapping_leaves_other_addresses_to_fail() -> None:
    _, environment = MAPPING.localize([], {"PGHOST": "other-rw", "PGPORT": "5432"})
    assert environment == {"PGHOST": "other-rw", "PGPORT": "5432"}
    with pytest.raises(ContractError, match="listens on --port=8080, the container's port is 5000"):
        MAPPING.localize(["--port=8080"], {}, container_port=5000)
