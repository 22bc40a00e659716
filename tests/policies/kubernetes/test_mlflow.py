"""mlflow-authentication-required and mlflow-default-permission-read, through the pack as
`plinth check` runs it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies.kubernetes.mlflow import mlflow_servers
from tests.conftest import SynthesizedEnvironment
from tests.policy_harness import hits, kubernetes

AUTHENTICATION = "mlflow-authentication-required"
PERMISSION = "mlflow-default-permission-read"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (what the chart renders)
IMAGE = "docker.io/burakince/mlflow:3.15.1"
SERVER_ARGS = [
    "server",
    "--host=0.0.0.0",
    "--port=5000",
    "--backend-store-uri=postgresql://",
    "--artifacts-destination=s3://artifacts/mlflow",
    "--serve-artifacts",
    "--app-name=basic-auth",
]
BASIC_AUTH_INI = (
    "[mlflow]\ndefault_permission = {permission}\n"
    "database_uri = postgresql://$(POSTGRES_USERNAME_PLACEHOLDER)@db:5432/mlflow\n"
    "admin_username = $(ADMIN_USERNAME_PLACEHOLDER)\n"
)


def mlflow_container(**fields: Any) -> dict[str, Any]:
    """The MLflow container as the community chart renders it (basic-auth on)."""
    return {"name": "mlflow", "image": IMAGE, "command": ["mlflow"], "args": SERVER_ARGS, **fields}


def deployment(*containers: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Deployment in namespace mlflow running `containers` (default: the chart's server)."""
    return kubernetes(
        "apps/v1",
        "Deployment",
        {
            "metadata": {"name": "mlflow", "namespace": "mlflow", "labels": labels or {}},
            "spec": {
                "template": {"spec": {"containers": list(containers) or [mlflow_container()]}}
            },
        },
    )


def without_auth(args: list[str] = SERVER_ARGS) -> list[str]:
    return [arg for arg in args if not arg.startswith("--app-name")]


def oauth2_proxy() -> dict[str, Any]:
    return {
        "name": "oauth2-proxy",
        "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.9.0",
        "args": ["--http-address=0.0.0.0:4180", "--upstream=http://127.0.0.1:5000"],
    }


def auth_ini(permission: str = "READ") -> dict[str, Any]:
    """The chart's basic-auth INI template ConfigMap."""
    return kubernetes(
        "v1",
        "ConfigMap",
        {
            "metadata": {"name": "mlflow-auth-ini-template", "namespace": "mlflow"},
            "data": {"auth_template.ini": BASIC_AUTH_INI.format(permission=permission)},
        },
    )


def test_the_charts_server_with_basic_auth_passes() -> None:
    assert hits(AUTHENTICATION, deployment()) == []


def test_a_server_without_an_authentication_app_is_refused() -> None:
    subject = deployment(mlflow_container(args=without_auth()))
    found = hits(AUTHENTICATION, subject)
    assert [v.urn for v in found] == [subject["urn"]]
    assert "container 'mlflow'" in found[0].message
    assert "no authentication app" in found[0].message


SHELL_SCRIPT = "pip install boto3 && exec mlflow server \\\n  --host 0.0.0.0{app}; echo done"
# Ways to start MLflow's server: (the command fields, the same with an authentication app).
SERVER_FORMS: dict[str, tuple[dict[str, list[str]], dict[str, list[str]]]] = {
    "command": (
        {"command": ["mlflow", "server", "--host", ALL_INTERFACES]},
        {"command": ["mlflow", "server", "--host", ALL_INTERFACES, "--app-name", "oidc-auth"]},
    ),
    "ui-alias": (
        {"command": ["/usr/local/bin/mlflow"], "args": ["ui", "--port=5000"]},
        {"command": ["/usr/local/bin/mlflow"], "args": ["ui", "--app-name=basic-auth"]},
    ),
    "python-module": (
        {"command": ["python", "-m", "mlflow", "server"]},
        {"command": ["python", "-m", "mlflow", "server", "--app-name", "my-sso"]},
    ),
    "shell-script": (
        {"command": ["/bin/sh", "-c"], "args": [SHELL_SCRIPT.format(app="")]},
        {"command": ["/bin/sh", "-c"], "args": [SHELL_SCRIPT.format(app=" --app-name oidc-auth")]},
    ),
    # No command: the args go to the image's entrypoint, `mlflow`.
    "image-entrypoint": (
        {"args": ["server", "--host=0.0.0.0"]},
        {"args": ["server", "--host=0.0.0.0", "--app-name=basic-auth"]},
    ),
}


@pytest.mark.parametrize("form", sorted(SERVER_FORMS))
def test_a_server_is_found_by_what_it_runs_not_by_a_label(form: str) -> None:
    anonymous, authenticated = SERVER_FORMS[form]
    image = {"name": "tracking", "image": "ghcr.io/mlflow/mlflow:v3.15.1"}
    subject = deployment({**image, **anonymous}, labels={"app": "something-else"})
    assert len(hits(AUTHENTICATION, subject)) == 1
    assert hits(AUTHENTICATION, deployment({**image, **authenticated})) == []


def test_an_app_name_after_the_servers_shell_command_does_not_count() -> None:
    script = "mlflow server --host 0.0.0.0 && echo --app-name basic-auth"
    container = {"name": "tracking", "image": IMAGE, "command": ["sh", "-c", script]}
    assert len(hits(AUTHENTICATION, deployment(container))) == 1


def test_other_commands_that_mention_mlflow_are_not_servers() -> None:
    client = {"name": "job", "image": IMAGE, "command": ["mlflow", "runs", "list"]}
    assert hits(AUTHENTICATION, deployment(client)) == []


def test_an_oauth2_proxy_counts_when_mlflow_listens_on_loopback_only() -> None:
    loopback = [a.replace("--host=0.0.0.0", "--host=127.0.0.1") for a in without_auth()]
    guarded = deployment(mlflow_container(args=loopback), oauth2_proxy())
    assert hits(AUTHENTICATION, guarded) == []


def test_an_oauth2_proxy_mlflow_can_be_reached_around_is_refused() -> None:
    bypassable = deployment(mlflow_container(args=without_auth()), oauth2_proxy())
    found = hits(AUTHENTICATION, bypassable)
    assert len(found) == 1
    assert "listens on 0.0.0.0" in found[0].message


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_authentication_level_per_tier(tier: str, level: str) -> None:
    subject = deployment(mlflow_container(args=without_auth()))
    assert [v.level for v in hits(AUTHENTICATION, subject, tier=tier)] == [level]


@pytest.mark.parametrize("permission", ["READ", "NO_PERMISSIONS", "read"])
def test_a_default_permission_of_read_or_less_passes(permission: str) -> None:
    assert hits(PERMISSION, auth_ini(permission)) == []


@pytest.mark.parametrize("permission", ["EDIT", "MANAGE"])
def test_a_broader_default_permission_in_the_ini_is_refused(permission: str) -> None:
    found = hits(PERMISSION, auth_ini(permission))
    assert len(found) == 1
    assert f"data.auth_template.ini default_permission is {permission}" in found[0].message


def test_the_oidc_apps_environment_setting_is_read() -> None:
    env = [{"name": "DEFAULT_MLFLOW_PERMISSION", "value": "MANAGE"}]
    found = hits(PERMISSION, deployment(mlflow_container(env=env)))
    assert len(found) == 1
    assert "DEFAULT_MLFLOW_PERMISSION is MANAGE" in found[0].message
    env[0]["value"] = "READ"
    assert hits(PERMISSION, deployment(mlflow_container(env=env))) == []


def test_a_secret_holding_the_ini_is_read() -> None:
    secret = kubernetes(
        "v1",
        "Secret",
        {
            "metadata": {"name": "mlflow-auth", "namespace": "mlflow"},
            "stringData": {"basic_auth.ini": BASIC_AUTH_INI.format(permission="EDIT")},
        },
    )
    assert len(hits(PERMISSION, secret)) == 1


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "advisory"), ("prod", "mandatory")]
)
def test_permission_level_per_tier(tier: str, level: str) -> None:
    assert [v.level for v in hits(PERMISSION, auth_ini("MANAGE"), tier=tier)] == [level]


def test_each_environments_rendered_mlflow_is_found_and_judged(env: SynthesizedEnvironment) -> None:
    """The chart's real Deployment and auth ConfigMap: found by what they run and hold,
    compliant as rendered, refused once their authentication is taken away."""
    servers = [e for e in env.entries if list(mlflow_servers(e["type"], e["inputs"]))]
    assert len(servers) == 1, "MLflow is on in every environment: its server must be found"
    rendered = servers[0]
    assert hits(AUTHENTICATION, rendered, tier="prod") == []
    anonymous = copy.deepcopy(rendered)
    for container in anonymous["inputs"]["spec"]["template"]["spec"]["containers"]:
        container["args"] = without_auth(container.get("args", []))
    assert len(hits(AUTHENTICATION, anonymous, tier="prod")) == 1

    ini_maps = [e for e in env.entries if "[mlflow]" in str(e["inputs"].get("data", ""))]
    assert ini_maps, "basic-auth is on: its INI ConfigMap must be rendered"
    assert hits(PERMISSION, *ini_maps, tier="prod") == []
    broader = copy.deepcopy(ini_maps[0])
    for key, text in broader["inputs"]["data"].items():
        broader["inputs"]["data"][key] = text.replace("= READ", "= MANAGE")
    assert len(hits(PERMISSION, broader, tier="prod")) == 1
