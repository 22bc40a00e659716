"""Secret configuration stays secret all the way to the resources, and plain configuration
that looks like a credential is warned about, naming the key."""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.gpu_enablement import COMPONENT as GPU_ENABLEMENT
from components.spark_operator import COMPONENT as SPARK_OPERATOR
from plinth.chart_sources import resolve_source
from plinth.cli import EXIT_BAD_INPUT
from plinth.engine import SECRET_MARK, record
from plinth.environments import load_environment
from plinth.plan import plan_document, write_plan
from plinth.rendering import expand_plan
from stacks.config import ConfigError, PlatformConfig, load_platform_config, secret_capable_settings
from stacks.credentials import plain_credentials
from tests.conftest import ENVIRONMENTS, ROOT, upstream_dir
from tests.plinth.test_cli import local_config, run_plinth, write_environment
from tests.stacks.test_config import SOURCE, valid_values

PROGRAM = str(ROOT / "stacks" / "__main__.py")
# Values set with --secret, one per setting that may hold a secret; none may appear in
# clear anywhere in the plan or the manifests.
KUBECONFIG = "apiVersion: v1\nusers: [{name: admin, user: {token: sentinel-kubeconfig}}]"
CONTEXT = "sentinel-context"
SPARK_VALUE = "sentinel-spark-priority"
GPU_VALUE = "sentinel-gpu-priority"
GATEWAY_VALUE = "sentinel-gateway-priority"
CERT_MANAGER_VALUE = "sentinel-cert-manager-priority"
ADMIN_ARN = "arn:aws:iam::999988887777:role/sentinel-admins"
OFFICE_CIDR = "198.51.100.77/32"
ADMIN_GROUP = "99999999-8888-7777-6666-555555555555"


def stack_config(environment: str, **secret_sections: dict[str, Any]) -> dict[str, str]:
    """`environment`'s Pulumi config, with `secret_sections` deep-set into its plinth keys
    as the Pulumi CLI passes a decrypted secret: in clear, the key listed as secret."""
    config = dict(load_environment(ROOT, environment).pulumi_config)
    for key, changes in secret_sections.items():
        current = json.loads(config.get(f"plinth:{key}", "{}"))
        config[f"plinth:{key}"] = json.dumps({**current, **changes}, sort_keys=True)
    return config


def synthesized_plan(
    environment: str, config: dict[str, str], secret_keys: list[str], out: Path
) -> tuple[list[dict[str, Any]], str]:
    """The plan entries (charts rendered) of the program run with `config`, and the text
    of everything `plinth synth` writes for them (plan.json and manifests)."""
    entries = record(
        lambda: runpy.run_path(PROGRAM, run_name="__main__"),
        stack=environment,
        config=config,
        secret_keys=secret_keys,
    )
    platform = load_environment(ROOT, environment).platform
    expansion = expand_plan(
        entries,
        kubernetes_version=str(platform.cluster.kubernetes_version),
        source=resolve_source(ROOT),
    )
    everything = [*entries, *expansion.entries]
    write_plan(out, plan_document(environment, everything))
    written = "\n".join(p.read_text() for p in sorted(out.rglob("*")) if p.is_file())
    return everything, written


PROVIDER = "pulumi:providers:kubernetes"
CHART = "kubernetes:helm.sh/v4:Chart"


def input_at(entries: list[dict[str, Any]], type_token: str, name: str, *path: str) -> Any:
    """The input at `path` of the plan entry of type `type_token` named `name`."""
    (entry,) = [e for e in entries if e["type"] == type_token and e["name"] == name]
    value: Any = entry["inputs"]
    for part in path:
        value = value[part]
    return value


def test_every_setting_that_may_hold_a_secret_is_covered_here() -> None:
    covered = {
        "cluster.kubeconfig",
        "cluster.context",
        "cluster.cluster_admins",
        "cluster.public_access_cidrs",
        "cluster.authorized_ip_ranges",
        "cluster.admin_group_object_ids",
        "spark_operator.values_override",
        "gpu.values_override",
        "monitoring.grafana_admin_password",
        "monitoring.values_override",
        "cert_manager.values_override",
        "mesh.values_override",
        "postgres_operator.values_override",
        "mlflow.admin_password",
        "mlflow.flask_secret_key",
        "mlflow.values_override",
    }
    assert set(secret_capable_settings()) == covered


def test_secret_settings_of_an_existing_cluster_reach_resources_as_secrets(
    tmp_path: Path,
) -> None:
    config = stack_config(
        "local",
        cluster={"kubeconfig": KUBECONFIG, "context": CONTEXT},
        spark_operator={"values_override": {"controller": {"priorityClassName": SPARK_VALUE}}},
        gpu={"values_override": {"nvidia-device-plugin": {"priorityClassName": GPU_VALUE}}},
        mesh={"values_override": {"gateway": {"priorityClassName": GATEWAY_VALUE}}},
        cert_manager={"values_override": {"global": {"priorityClassName": CERT_MANAGER_VALUE}}},
    )
    secret = [
        "plinth:cluster",
        "plinth:gpu",
        "plinth:spark_operator",
        "plinth:mesh",
        "plinth:cert_manager",
    ]
    entries, written = synthesized_plan("local", config, secret, tmp_path)
    for value in (
        "sentinel-kubeconfig",
        CONTEXT,
        SPARK_VALUE,
        GPU_VALUE,
        GATEWAY_VALUE,
        CERT_MANAGER_VALUE,
    ):
        assert value not in written
    assert input_at(entries, PROVIDER, "local-existing", "kubeconfig") == SECRET_MARK
    assert input_at(entries, PROVIDER, "local-existing", "context") == SECRET_MARK
    spark_values = input_at(entries, CHART, "local-spark", "values")
    assert spark_values["controller"]["priorityClassName"] == SECRET_MARK
    gpu_values = input_at(entries, CHART, "local-gpu-device-plugin", "values")
    assert gpu_values["priorityClassName"] == SECRET_MARK
    gateway_values = input_at(entries, CHART, "local-mesh-gateway", "values")
    assert gateway_values["priorityClassName"] == SECRET_MARK
    cert_manager_values = input_at(entries, CHART, "local-cert-manager", "values")
    assert cert_manager_values["global"]["priorityClassName"] == SECRET_MARK
    # Only the override is secret: what Plinth renders itself stays reviewable.
    assert spark_values["controller"]["replicas"] == 1


def test_secret_settings_of_an_eks_cluster_reach_resources_as_secrets(tmp_path: Path) -> None:
    changes = {"cluster_admins": {"platform": ADMIN_ARN}, "public_access_cidrs": [OFFICE_CIDR]}
    config = stack_config("dev", cluster=changes)
    entries, written = synthesized_plan("dev", config, ["plinth:cluster"], tmp_path)
    for value in (ADMIN_ARN, OFFICE_CIDR, "999988887777"):
        assert value not in written
    cluster = input_at(entries, "aws:eks/cluster:Cluster", "dev-eks", "vpcConfig")
    assert cluster["publicAccessCidrs"] == SECRET_MARK
    for type_token in (
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    ):
        assert (
            input_at(entries, type_token, "dev-eks-admin-platform", "principalArn") == SECRET_MARK
        )


def test_secret_settings_of_an_aks_cluster_reach_resources_as_secrets(tmp_path: Path) -> None:
    changes = {"admin_group_object_ids": [ADMIN_GROUP], "authorized_ip_ranges": [OFFICE_CIDR]}
    config = stack_config("aks-dev", cluster=changes)
    entries, written = synthesized_plan("aks-dev", config, ["plinth:cluster"], tmp_path)
    for value in (ADMIN_GROUP, OFFICE_CIDR):
        assert value not in written
    cluster = "azure-native:containerservice:ManagedCluster"
    assert input_at(entries, cluster, "aks-dev-aks", "aadProfile", "adminGroupObjectIDs") == (
        SECRET_MARK
    )
    access = input_at(entries, cluster, "aks-dev-aks", "apiServerAccessProfile")
    assert access["authorizedIPRanges"] == SECRET_MARK


GRAFANA_PASSWORD = "sentinel-grafana-password"  # noqa: S105 (a made-up value to trace)
WEBHOOK_URL = "https://hooks.example.com/services/sentinel-webhook-token"
SMTP_PASSWORD = "sentinel-smtp-password"  # noqa: S105 (a made-up value to trace)


@pytest.mark.parametrize(
    "receiver",
    [
        {"webhook_url": WEBHOOK_URL},
        {
            "email_to": "oncall@example.com",
            "email_from": "alertmanager@example.com",
            "smarthost": "smtp.example.com:587",
            "smtp_username": "alertmanager",
            "smtp_password": SMTP_PASSWORD,
        },
    ],
    ids=["webhook", "email"],
)
def test_monitoring_secrets_reach_resources_as_secrets(
    tmp_path: Path, receiver: dict[str, Any]
) -> None:
    monitoring = {"grafana_admin_password": GRAFANA_PASSWORD, "alert_receiver": receiver}
    config = stack_config("local", monitoring=monitoring)
    entries, written = synthesized_plan("local", config, ["plinth:monitoring"], tmp_path)
    for value in (GRAFANA_PASSWORD, WEBHOOK_URL, SMTP_PASSWORD):
        assert value not in written
    secret = "kubernetes:core/v1:Secret"  # noqa: S105 (a type token)
    admin = input_at(entries, secret, "local-monitoring-grafana-admin", "stringData")
    assert admin == {"admin-password": SECRET_MARK, "admin-user": SECRET_MARK}
    files = input_at(entries, secret, "local-monitoring-alert-receiver", "stringData")
    assert set(files.values()) == {SECRET_MARK}
    # Alertmanager's configuration names the files, never their content.
    alertmanager = input_at(entries, CHART, "local-monitoring", "values", "alertmanager")
    assert "/etc/alertmanager/secrets/alertmanager-receiver/" in json.dumps(alertmanager)


MLFLOW_PASSWORD = "sentinel-mlflow-admin-password"  # noqa: S105 (a made-up value to trace)
FLASK_KEY = "sentinel-mlflow-flask-key"


def test_mlflow_secrets_reach_resources_as_secrets(tmp_path: Path) -> None:
    mlflow = {"admin_password": MLFLOW_PASSWORD, "flask_secret_key": FLASK_KEY}
    config = stack_config("local", mlflow=mlflow)
    entries, written = synthesized_plan("local", config, ["plinth:mlflow"], tmp_path)
    for value in (MLFLOW_PASSWORD, FLASK_KEY):
        assert value not in written
    secret = "kubernetes:core/v1:Secret"  # noqa: S105 (a type token)
    admin = input_at(entries, secret, "local-mlflow-admin", "stringData")
    assert admin == {"password": SECRET_MARK, "username": SECRET_MARK}
    flask = input_at(entries, secret, "local-mlflow-flask-secret-key", "stringData")
    assert flask == {"MLFLOW_FLASK_SERVER_SECRET_KEY": SECRET_MARK}


def test_the_same_settings_in_plain_config_stay_readable(tmp_path: Path) -> None:
    config = stack_config("local", cluster={"context": CONTEXT})
    entries, _ = synthesized_plan("local", config, [], tmp_path)
    assert input_at(entries, PROVIDER, "local-existing", "context") == CONTEXT


@pytest.mark.parametrize(
    "key", ["tier", "ownership", "node_pools", "jobs", "training_operator", "object_storage"]
)
def test_a_secret_key_that_cannot_stay_secret_is_refused(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_platform_config(valid_values(), source=SOURCE, secret_keys=[f"plinth:{key}"])
    message = str(caught.value)
    assert f"plinth:{key} is set with --secret" in message
    assert "set it without --secret" in message
    assert "cluster.kubeconfig" in message  # where secrets do go


def test_a_secret_key_that_can_stay_secret_is_marked() -> None:
    secret = ["plinth:cluster", "plinth:spark_operator", "plinth:policy", "aws:secretKey"]
    config = load_platform_config(valid_values(), source=SOURCE, secret_keys=secret)
    assert config.cluster.from_secret_key
    assert config.args(SPARK_OPERATOR).from_secret_key
    assert not config.args(GPU_ENABLEMENT).from_secret_key
    assert not load_platform_config(valid_values(), source=SOURCE).cluster.from_secret_key


# -- plain values that look like credentials ------------------------------------------------


def plain_config(**changes: Any) -> dict[str, Any]:
    """A clean Pulumi config (key -> parsed value); keyword arguments replace keys."""
    config: dict[str, Any] = {f"plinth:{k}": v for k, v in valid_values().items()}
    config.update(changes)
    return config


def kubeconfig_with(line: str) -> dict[str, Any]:
    return {"target": "existing", "kubernetes_version": "1.33", "kubeconfig": line}


AWS_KEY_ID = "AKIA" + "ABCDEFGHIJKLMNOP"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK_TOKEN = "xoxb-" + "123456789012-abcdefABCDEF"
RANDOM_TOKEN = "q7Zp2LmX9vR4tK8wN3bY6hJ1"  # noqa: S105 (a made-up token to detect)


@pytest.mark.parametrize(
    ("changes", "path", "kind"),
    [
        ({"aws:accessKey": AWS_KEY_ID}, "aws:accessKey", "an AWS access key id"),
        (
            {"plinth:cluster": kubeconfig_with(PEM)},
            "plinth:cluster.kubeconfig",
            "a private key",
        ),
        (
            {"plinth:spark_operator": {"values_override": {"image": {"pullToken": GITHUB_TOKEN}}}},
            "plinth:spark_operator.values_override.image.pullToken",
            "a GitHub token",
        ),
        ({"alerts:slack": SLACK_TOKEN}, "alerts:slack", "a Slack token"),
        (
            {"plinth:spark_operator": {"values_override": {"auth": {"password": "hunter2"}}}},
            "plinth:spark_operator.values_override.auth.password",
            "a password",
        ),
        (
            {"plinth:cluster": kubeconfig_with("users:\n- user:\n    password: hunter2\n")},
            "plinth:cluster.kubeconfig",
            "a password",
        ),
        (
            {"plinth:gpu": {"values_override": {"dcgm-exporter": {"apiToken": RANDOM_TOKEN}}}},
            "plinth:gpu.values_override.dcgm-exporter.apiToken",
            "a token",
        ),
    ],
    ids=["aws-key-id", "pem", "github", "slack", "password-key", "password-line", "token"],
)
def test_a_plain_credential_is_named(changes: dict[str, Any], path: str, kind: str) -> None:
    assert plain_credentials(plain_config(), secret_keys=()) == []
    assert plain_credentials(plain_config(**changes), secret_keys=()) == [(path, kind)]


def test_a_secret_credential_is_not_warned_about() -> None:
    config = plain_config(**{"aws:accessKey": AWS_KEY_ID})
    assert plain_credentials(config, secret_keys={"aws:accessKey"}) == []


@pytest.mark.parametrize(
    "value", ["nvidia.com/gpu", "replace-me-with-the-token", "aaaaaaaaaaaaaaaaaaaaaaaa"]
)
def test_ordinary_values_under_token_like_keys_are_not_credentials(value: str) -> None:
    config = plain_config(**{"plinth:cluster": {"gpu": {"taint_key": value}}})
    assert plain_credentials(config, secret_keys=()) == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_environments_hold_no_plain_credentials(environment: str) -> None:
    loaded = load_environment(ROOT, environment)
    parsed = {k: json.loads(v) if v[:1] in "{[" else v for k, v in loaded.pulumi_config.items()}
    assert plain_credentials(parsed, secret_keys=set(loaded.secret_keys)) == []


def run_with_plain_password(capsys: pytest.CaptureFixture[str]) -> tuple[str, PlatformConfig]:
    """Run the program on `local` with a password in plain config; what it printed."""
    override = {"values_override": {"auth": {"password": "hunter2"}}}
    config = stack_config("local", spark_operator=override)
    captured: list[PlatformConfig] = []

    def program() -> None:
        from stacks.config import read_stack_config  # noqa: PLC0415

        captured.append(read_stack_config())

    record(program, stack="local", config=config)
    return capsys.readouterr().err, captured[0]


def test_the_program_warns_once_naming_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    stderr, config = run_with_plain_password(capsys)
    lines = [line for line in stderr.splitlines() if "looks like" in line]
    assert len(lines) == 1
    (line,) = lines
    assert line.startswith("plinth: warning: ")
    assert "plinth:spark_operator.values_override.auth.password looks like a password" in line
    assert "pulumi config set --secret" in line
    assert "hunter2" not in line
    assert config.args(SPARK_OPERATOR).values_override  # a warning, not an error


def secret_leaves(value: Any) -> Iterator[Any]:
    """Every masked value inside plan inputs."""
    if isinstance(value, dict):
        for child in value.values():
            yield from secret_leaves(child)
    elif isinstance(value, list):
        for child in value:
            yield from secret_leaves(child)
    elif value == SECRET_MARK:
        yield value


def test_the_environments_have_no_secret_inputs_today(tmp_path: Path) -> None:
    """Nothing is secret unless configured so: the masking above is caused, not constant
    (but for the Secrets charts render, whose data is always masked)."""
    entries, _ = synthesized_plan("local", stack_config("local"), [], tmp_path)
    inputs = [e["inputs"] for e in entries if e["type"] != "kubernetes:core/v1:Secret"]
    assert [leaf for each in inputs for leaf in secret_leaves(each)] == []


# -- as a user runs it ----------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory running this checkout's program on the shared upstream data."""
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    monkeypatch.setenv("PLINTH_UPSTREAM_DIR", str(upstream_dir()))
    return tmp_path


def test_a_secure_kubeconfig_is_secret_in_the_written_plan(project: Path) -> None:
    config = local_config()
    cluster = config["plinth:cluster"]
    assert isinstance(cluster, dict)
    config["plinth:cluster"] = {**cluster, "kubeconfig": {"secure": "v1:abc"}}
    write_environment(project, "env", config)
    result = run_plinth("synth", "env", project=project)
    assert result.returncode == 0, result.stderr
    plan = json.loads((project / "out" / "env" / "plan.json").read_text())
    (provider,) = [r for r in plan["resources"] if r["type"] == PROVIDER]
    assert provider["inputs"]["kubeconfig"] == SECRET_MARK
    assert "looks like" not in result.stderr


@pytest.mark.parametrize("command", ["synth", "check"])
def test_a_plain_password_is_warned_about_once(project: Path, command: str) -> None:
    write_environment(project, "env", {**local_config(), "registry:password": "hunter2"})
    result = run_plinth(command, "env", project=project)
    assert result.returncode in (0, 1), result.stderr  # check: 1 on a mandatory finding
    warnings = [line for line in result.stderr.splitlines() if "looks like" in line]
    assert warnings == [
        "plinth: warning: registry:password looks like a password but is plain "
        "configuration, which Pulumi stores and shows in clear: set it with "
        "`pulumi config set --secret registry:password <value>`"
    ]


def test_a_secure_value_in_a_key_that_cannot_stay_secret_exits_2(project: Path) -> None:
    config = local_config()
    config["plinth:jobs"] = {"quota": {"cpu": {"secure": "v1:abc"}}}
    write_environment(project, "env", config)
    result = run_plinth("synth", "env", project=project)
    assert result.returncode == EXIT_BAD_INPUT
    (line,) = result.stderr.splitlines()
    assert "plinth:jobs is set with --secret" in line
    assert "Traceback" not in result.stderr


def test_a_secure_value_in_a_setting_that_decides_what_is_built_exits_2(project: Path) -> None:
    config = local_config()
    cluster = config["plinth:cluster"]
    assert isinstance(cluster, dict)
    config["plinth:cluster"] = {**cluster, "kubernetes_version": {"secure": "v1:abc"}}
    write_environment(project, "env", config)
    result = run_plinth("synth", "env", project=project)
    assert result.returncode == EXIT_BAD_INPUT
    (line,) = result.stderr.splitlines()
    assert "plinth:cluster.kubernetes_version: is set with --secret" in line
    assert "set it without --secret" in line
