"""The MLflow component: its configuration checks, what it renders on each kind of target
(the chart's values, the artifact identity, the route, the fences, the jobs' ConfigMap),
and the examples' run logging against a stand-in MLflow REST API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from components.mlflow import COMPONENT as MLFLOW
from components.mlflow.args import MlflowArgs, S3EndpointArgs
from components.mlflow.artifacts import artifact_statements
from components.mlflow.jobs import LOG_EXAMPLE_RUN, TRACKING_CONFIGMAP, tracking_uri
from components.mlflow.values import FLASK_SECRET, FULLNAME, SERVER_LABELS
from plinth.synth import synthesize
from tests.conftest import ROOT, SynthesizedEnvironment
from tests.stacks.test_config import error_of, load, valid_values

CHART = "kubernetes:helm.sh/v4:Chart"
ENDPOINT = {
    "endpoint_url": "http://minio.minio.svc.cluster.local:9000",
    "bucket": "mlflow-artifacts",
    "credentials_secret": "mlflow-s3",
}
HOST = "ml.example.com"


def existing(**mlflow: Any) -> dict[str, Any]:
    """A valid existing-cluster environment with MLflow on and `mlflow` settings on top."""
    return valid_values(
        mlflow={"enabled": True, "s3_endpoint": ENDPOINT, **mlflow},
        mesh={"gateway": {"hosts": [HOST, f"mlflow.{HOST}"]}},
    )


# --- configuration ---------------------------------------------------------------------


def test_a_complete_existing_environment_loads() -> None:
    config = load(existing())
    assert MLFLOW.problem(config.args(MLFLOW), config) is None


def test_an_existing_cluster_without_an_artifact_endpoint_is_one_line() -> None:
    values = existing()
    del values["mlflow"]["s3_endpoint"]
    message = error_of(values)
    assert "mlflow.s3_endpoint is not set but cluster.target is 'existing'" in message
    assert "set plinth:mlflow.s3_endpoint" in message


def test_a_host_the_gateway_does_not_serve_is_refused() -> None:
    message = error_of(existing(host="tracking.elsewhere.example.com"))
    assert "mlflow.host is tracking.elsewhere.example.com" in message
    assert "add tracking.elsewhere.example.com" in message


def test_the_default_host_must_be_served_too() -> None:
    values = existing()
    values["mesh"] = {"gateway": {"hosts": [HOST]}}
    assert f"is mlflow.{HOST}, which mesh.gateway.hosts does not serve" in error_of(values)


def test_a_wildcard_gateway_host_serves_the_default_host() -> None:
    values = existing()
    values["mesh"] = {"gateway": {"hosts": [f"*.{HOST}"]}}
    config = load(values)
    assert MLFLOW.problem(config.args(MLFLOW), config) is None
    assert config.args(MLFLOW).routed_host((f"*.{HOST}",)) == f"mlflow.{HOST}"


def test_a_bad_endpoint_url_names_the_field() -> None:
    message = error_of(existing(s3_endpoint={**ENDPOINT, "endpoint_url": "minio:9000"}))
    assert "mlflow.s3_endpoint.endpoint_url" in message


def test_the_endpoint_port_comes_from_its_url() -> None:
    assert S3EndpointArgs.model_validate(ENDPOINT).port == 9000
    https = {**ENDPOINT, "endpoint_url": "https://s3.example.internal"}
    assert S3EndpointArgs.model_validate(https).port == 443


def test_mlflow_is_off_unless_an_environment_turns_it_on() -> None:
    assert MlflowArgs().enabled is False
    assert load(valid_values()).args(MLFLOW).enabled is False


# --- the IRSA role's scope ---------------------------------------------------------------


def test_the_artifact_role_reaches_only_its_prefix() -> None:
    bucket, key = "arn:aws:s3:::prod-artifacts-1", "arn:aws:kms:eu-west-1:1:key/k"
    statements = {s["Sid"]: s for s in artifact_statements("mlflow", bucket, key, "eu-west-1")}
    assert statements["ReadWriteArtifacts"]["Resource"] == f"{bucket}/mlflow/*"
    listing = statements["ListArtifacts"]
    assert listing["Resource"] == bucket
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["mlflow", "mlflow/*"]}}
    assert "s3:*" not in json.dumps(statements)
    kms = statements["UseDataKeyThroughS3"]
    assert kms["Resource"] == key
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"


# --- what each target renders --------------------------------------------------------------


def one(env: SynthesizedEnvironment, kind: str, name: str, namespace: str) -> dict[str, Any]:
    (found,) = [
        o
        for o in env.objects
        if o["kind"] == kind
        and o["metadata"]["name"] == name
        and o["metadata"].get("namespace") == namespace
    ]
    return found


def chart_values(env: SynthesizedEnvironment) -> dict[str, Any]:
    (chart,) = [e for e in env.of_type(CHART) if e["inputs"]["chart"] == "mlflow"]
    values: dict[str, Any] = chart["inputs"]["values"]
    return values


def server_args(env: SynthesizedEnvironment) -> list[str]:
    deployment = one(env, "Deployment", FULLNAME, "mlflow")
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    args: list[str] = server["args"]
    return args


@pytest.fixture(scope="module")
def environments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedEnvironment]:
    """One environment per target kind, synthesized once: existing, eks, aks."""
    os.environ["PLINTH_PROJECT_DIR"] = str(ROOT)
    from plinth.environments import load_environment  # noqa: PLC0415

    found = {}
    for name in ("local", "prod", "aks-dev"):
        out_dir, entries = synthesize(name, tmp_path_factory.mktemp(f"mlflow-{name}"))
        found[name] = SynthesizedEnvironment(load_environment(ROOT, name), out_dir, entries)
    return found


def test_every_target_runs_the_pinned_server_with_postgres_and_basic_auth(
    environments: dict[str, SynthesizedEnvironment],
) -> None:
    for env in environments.values():
        args = server_args(env)
        assert "--backend-store-uri=postgresql+psycopg2://" in args
        assert "--serve-artifacts" in args
        assert "--app-name=basic-auth" in args
        values = chart_values(env)
        assert values["image"]["tag"] == "3.15.1"
        assert values["backendStore"]["existingDatabaseSecret"]["name"]
        auth = values["auth"]
        assert auth["enabled"] is True
        assert (
            auth["postgres"]["existingSecret"] == values["backendStore"]["existingDatabaseSecret"]
        )
        assert values["telemetry"] == {"enabled": False}
        config = one(env, "ConfigMap", "mlflow-env-configmap", "mlflow")
        assert config["data"]["MLFLOW_DISABLE_TELEMETRY"] == "true"
        pod = one(env, "Deployment", FULLNAME, "mlflow")["spec"]["template"]["spec"]
        # Every container, the chart's ini-file initializer included, has resources.
        for container in [*pod["initContainers"], *pod["containers"]]:
            assert container["resources"]["limits"], container["name"]
        # The chart's env Secret has no keys here (the database's Secret has them): its
        # empty `data` stays null in the plan, as the schema allows.
        assert one(env, "Secret", "mlflow-env-secret", "mlflow").get("data") is None


def test_existing_clusters_send_artifacts_to_the_configured_endpoint(
    environments: dict[str, SynthesizedEnvironment],
) -> None:
    env = environments["local"]
    endpoint = env.environment.platform.args(MLFLOW).s3_endpoint
    assert endpoint is not None
    assert f"--artifacts-destination=s3://{endpoint.bucket}/mlflow" in server_args(env)
    deployment = one(env, "Deployment", FULLNAME, "mlflow")
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    env_vars = {e["name"]: e for e in server["env"]}
    assert env_vars["MLFLOW_S3_ENDPOINT_URL"]["value"] == endpoint.endpoint_url
    assert env_vars["PGSSLMODE"]["value"] == "require"
    key = env_vars["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
    assert key["name"] == endpoint.credentials_secret


def test_eks_uses_the_artifacts_bucket_through_its_own_irsa_role(
    environments: dict[str, SynthesizedEnvironment],
) -> None:
    env = environments["prod"]
    destination = next(a for a in server_args(env) if a.startswith("--artifacts-destination="))
    assert destination.startswith("--artifacts-destination=s3://")
    assert destination.endswith("/mlflow")
    account = one(env, "ServiceAccount", FULLNAME, "mlflow")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert account["automountServiceAccountToken"] is False
    (role,) = [e for e in env.of_type("aws:iam/role:Role") if e["name"] == "prod-mlflow-artifacts"]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:mlflow:mlflow" in condition.values()
    (policy,) = [
        e for e in env.of_type("aws:iam/rolePolicy:RolePolicy") if e["parent"] == role["parent"]
    ]
    resources = [s["Resource"] for s in json.loads(policy["inputs"]["policy"])["Statement"]]
    assert any(str(r).endswith("/mlflow/*") for r in resources)


def test_aks_uses_the_artifacts_container_through_workload_identity(
    environments: dict[str, SynthesizedEnvironment],
) -> None:
    env = environments["aks-dev"]
    destination = next(a for a in server_args(env) if a.startswith("--artifacts-destination="))
    assert destination.startswith("--artifacts-destination=wasbs://artifacts@")
    assert destination.endswith(".blob.core.windows.net/mlflow")
    account = one(env, "ServiceAccount", FULLNAME, "mlflow")
    assert "azure.workload.identity/client-id" in account["metadata"]["annotations"]
    pod = one(env, "Deployment", FULLNAME, "mlflow")["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    (credential,) = [
        e
        for e in env.of_type("azure-native:managedidentity:FederatedIdentityCredential")
        if e["name"] == "aks-dev-mlflow-artifacts"
    ]
    assert credential["inputs"]["subject"] == "system:serviceaccount:mlflow:mlflow"
    (assignment,) = [
        e
        for e in env.of_type("azure-native:authorization:RoleAssignment")
        if e["name"] == "aks-dev-mlflow-artifacts"
    ]
    # Storage Blob Data Contributor, on the container (not the account).
    assert assignment["inputs"]["roleDefinitionId"].endswith("ba92f5b4-2d11-453d-a403-e96b0029c9fe")


def test_mlflow_is_routed_through_the_gateway_on_its_host(
    environments: dict[str, SynthesizedEnvironment],
) -> None:
    env = environments["local"]
    route = one(env, "VirtualService", FULLNAME, "istio-ingress")
    assert route["spec"]["hosts"] == ["mlflow.plinth.localhost"]
    assert route["spec"]["gateways"] == ["istio-ingress/platform-gateway"]
    (destination,) = route["spec"]["http"][0]["route"]
    assert destination["destination"]["host"] == "mlflow.mlflow.svc.cluster.local"
    policy = one(env, "AuthorizationPolicy", FULLNAME, "mlflow")["spec"]
    sources = [rule["source"] for rule in policy["rules"][0]["from"]]
    assert {"principals": ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway"]} in sources
    assert {"namespaces": ["ml-jobs"]} in sources
    assert len(sources) == 2


def test_jobs_get_the_tracking_uri_and_a_way_to_mlflow_only(
    environments: dict[str, SynthesizedEnvironment],
) -> None:
    env = environments["local"]
    config = one(env, "ConfigMap", TRACKING_CONFIGMAP, "ml-jobs")
    assert config["data"] == {"MLFLOW_TRACKING_URI": tracking_uri(FULLNAME, "mlflow")}
    egress = one(env, "NetworkPolicy", "allow-mlflow", "ml-jobs")["spec"]
    assert egress["policyTypes"] == ["Egress"]
    (rule,) = egress["egress"]
    (peer,) = rule["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "mlflow"}
    assert peer["podSelector"]["matchLabels"] == SERVER_LABELS
    assert rule["ports"] == [{"protocol": "TCP", "port": 5000}]


def test_the_server_takes_traffic_from_its_clients_and_reaches_its_stores_only(
    environments: dict[str, SynthesizedEnvironment],
) -> None:
    env = environments["local"]
    policy = one(env, "NetworkPolicy", FULLNAME, "mlflow")["spec"]
    assert policy["podSelector"]["matchLabels"] == SERVER_LABELS
    (ingress,) = policy["ingress"]
    namespaces = [
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in ingress["from"]
    ]
    assert namespaces == ["istio-ingress", "ml-jobs", "monitoring"]
    dns, stores = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    # PostgreSQL and the MinIO endpoint's port, nothing else.
    assert [p["port"] for p in stores["ports"]] == [5432, 9000]


def test_secret_config_becomes_the_admin_and_flask_secrets(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml  # noqa: PLC0415

    from tests.components.test_components import find  # noqa: PLC0415

    document = yaml.safe_load((ROOT / "environments" / "Pulumi.local.yaml").read_text())
    document["config"]["plinth:mlflow"].update(
        {"admin_password": "first-password", "flask_secret_key": "a-fixed-key"}
    )
    (tmp_path / "environments").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    (tmp_path / "environments" / "Pulumi.variant.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(tmp_path))
    _, entries = synthesize("variant", tmp_path / "out")
    admin = find(entries, "Secret", "mlflow-admin")
    assert set(admin["stringData"]) == {"username", "password"}
    flask = find(entries, "Secret", FLASK_SECRET)
    assert set(flask["stringData"]) == {"MLFLOW_FLASK_SERVER_SECRET_KEY"}


def test_synthesis_is_deterministic(
    environments: dict[str, SynthesizedEnvironment], tmp_path: Any
) -> None:
    os.environ["PLINTH_PROJECT_DIR"] = str(ROOT)
    _, again = synthesize("local", tmp_path / "again")
    mlflow_objects = [
        o for o in environments["local"].objects if o["metadata"].get("namespace") == "mlflow"
    ]
    from plinth.engine import kubernetes_objects  # noqa: PLC0415

    repeated = [o for o in kubernetes_objects(again) if o["metadata"].get("namespace") == "mlflow"]
    assert mlflow_objects == repeated
    assert mlflow_objects


# --- the examples' run logging -------------------------------------------------------------


class StandInMlflow(BaseHTTPRequestHandler):
    """Answers the REST calls log_example_run makes, recording them."""

    calls: ClassVar[list[tuple[str, dict[str, Any], str | None]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append((self.path, body, self.headers.get("Authorization")))
        answers: dict[str, dict[str, Any]] = {
            "/api/2.0/mlflow/experiments/create": {"experiment_id": "7"},
            "/api/2.0/mlflow/runs/create": {"run": {"info": {"run_id": "r1"}}},
        }
        self._answer(answers.get(self.path, {}))

    def _answer(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


def run_logging(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    program = LOG_EXAMPLE_RUN + '\nlog_example_run("plinth-examples", {"a": 1}, {"loss": 0.5})\n'
    return subprocess.run(
        [sys.executable, "-c", program],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_examples_log_a_param_and_a_metric_when_mlflow_is_on() -> None:
    StandInMlflow.calls = []
    server = HTTPServer(("127.0.0.1", 0), StandInMlflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}"
        done = run_logging(
            {
                "MLFLOW_TRACKING_URI": uri,
                "MLFLOW_TRACKING_USERNAME": "jobs",
                "MLFLOW_TRACKING_PASSWORD": "pw",
            }
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    paths = [path for path, _, _ in StandInMlflow.calls]
    assert paths == [
        "/api/2.0/mlflow/experiments/create",
        "/api/2.0/mlflow/runs/create",
        "/api/2.0/mlflow/runs/log-batch",
        "/api/2.0/mlflow/runs/update",
    ]
    batch = StandInMlflow.calls[2][1]
    assert batch["params"] == [{"key": "a", "value": "1"}]
    assert batch["metrics"][0]["key"] == "loss"
    assert batch["metrics"][0]["value"] == 0.5
    assert all(auth == "Basic am9iczpwdw==" for _, _, auth in StandInMlflow.calls)


def test_the_examples_log_nothing_without_mlflow() -> None:
    done = run_logging({})
    assert done.returncode == 0, done.stderr
    assert "no run logged" in done.stdout
