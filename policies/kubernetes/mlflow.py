"""Rules for MLflow's tracking server: nobody uses it anonymously, and signing in does not
hand every user the right to change everyone's experiments and models.

- `mlflow-authentication-required`: every MLflow server (a container that runs
  `mlflow server`, or its alias `mlflow ui`, however it is started: the chart's
  `command: [mlflow]` + `args: [server, ...]`, `python -m mlflow server`, a shell script,
  or the image's entrypoint with `args: [server, ...]`) runs an authentication app
  (`--app-name basic-auth`, `oidc-auth`, or a custom one) or sits behind an
  authenticating proxy in its own pod: an oauth2-proxy container, with MLflow listening
  on loopback only so the proxy cannot be bypassed. Without either, MLflow answers
  anyone who reaches it, and with `--serve-artifacts` that includes reading and
  replacing the models the platform serves. A server is found by what it runs, not by a
  label, so a hand-written Deployment is held to the same rule as the chart's.
- `mlflow-default-permission-read`: MLflow's authentication apps give every signed-in
  user a default permission on what they were not granted explicitly. Above READ
  (EDIT, MANAGE) every user may change or delete every experiment and registered model.
  Read where the rendered objects show it: the `default_permission` of an INI file with
  an `[mlflow]` section (the chart's basic-auth ConfigMap, or a Secret's `stringData`),
  and a container's `DEFAULT_MLFLOW_PERMISSION` (the oidc-auth app's setting; the
  chart's oidc-auth default is MANAGE).
"""

from __future__ import annotations

import configparser
import posixpath
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_IN_PROD,
    Rule,
    mapping,
    resource_rule,
    sequence,
)
from policies.kubernetes.pod_specs import PodSpecView, containers, pod_specs

AUTHENTICATION_RULE = "mlflow-authentication-required"
PERMISSION_RULE = "mlflow-default-permission-read"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 (a type token, not a password)
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
SHELL_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
# `mlflow ui` is the CLI's alias for `mlflow server`.
SERVER_COMMANDS = frozenset({"server", "ui"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# MLflow's default host when neither --host nor MLFLOW_HOST is given.
DEFAULT_HOST = "127.0.0.1"
# Default permissions that grant no more than reading (MLflow's permission names).
READ_AT_MOST = frozenset({"READ", "NO_PERMISSIONS"})
PERMISSION_ENV = "DEFAULT_MLFLOW_PERMISSION"
HOW_MLFLOW_AUTHENTICATES = (
    "plinth:mlflow turns on MLflow's basic-auth app (chart value auth.enabled) with its "
    "admin from secret config plinth:mlflow_admin_password"
)


@dataclass(frozen=True)
class MlflowServer:
    """One container running the MLflow tracking server, and its server options."""

    pod: PodSpecView
    name: str
    options: tuple[str, ...]
    env: Mapping[str, Any]

    def option(self, *flags: str) -> str | None:
        """The value of the last of `flags` given (`--x v` or `--x=v`), else None."""
        found = None
        for index, token in enumerate(self.options):
            for flag in flags:
                if token == flag and index + 1 < len(self.options):
                    found = self.options[index + 1]
                elif token.startswith(f"{flag}="):
                    found = token.split("=", 1)[1]
        return found

    @property
    def host(self) -> str:
        """The address the server listens on (`--host`/`-h`, else MLFLOW_HOST, else MLflow's
        default, loopback)."""
        env_host = self.env.get("MLFLOW_HOST")
        default = env_host if isinstance(env_host, str) and env_host else DEFAULT_HOST
        return self.option("--host", "-h") or default


def _argv(container: Mapping[str, Any]) -> list[str]:
    """The container's command line; a shell's `-c` script is split into its words."""
    argv = [
        str(word)
        for word in (*sequence(container.get("command")), *sequence(container.get("args")))
    ]
    if argv and posixpath.basename(argv[0]) in SHELLS and "-c" in argv[1:]:
        position = argv.index("-c", 1) + 1
        return _words(argv[position]) if position < len(argv) else []
    return argv


def _words(script: str) -> list[str]:
    # A line continuation (backslash, newline) is only a space to the shell.
    script = script.replace("\\\n", " ")
    try:
        return shlex.split(script, comments=True)
    except ValueError:  # unbalanced quotes: the shell would refuse it too; judge the words
        return script.split()


def _image_name(image: str) -> str:
    """The last path segment of an image reference, without tag or digest."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def _server_options(container: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The options after `mlflow server` if the container runs MLflow's server, else None."""
    argv = _argv(container)
    for index, word in enumerate(argv[:-1]):
        if posixpath.basename(word) == "mlflow" and argv[index + 1] in SERVER_COMMANDS:
            return _until_separator(argv[index + 2 :])
    # No command: the image's entrypoint gets the args (MLflow's own images run `mlflow`).
    image = str(container.get("image", ""))
    if (
        not container.get("command")
        and _image_name(image) == "mlflow"
        and argv[:1]
        and argv[0] in SERVER_COMMANDS
    ):
        return _until_separator(argv[1:])
    return None


def _until_separator(words: Sequence[str]) -> tuple[str, ...]:
    """The words up to the end of the shell command they start (`&&`, `;`, ...)."""
    options: list[str] = []
    for word in words:
        if word in SHELL_SEPARATORS:
            break
        options.append(word.rstrip(";"))
        if word.endswith(";"):
            break
    return tuple(options)


def _env(container: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(mapping(item).get("name")): mapping(item).get("value")
        for item in sequence(container.get("env"))
    }


def mlflow_servers(resource_type: str, props: Mapping[str, Any]) -> Iterator[MlflowServer]:
    """Every MLflow tracking server among the pods of a resource."""
    for pod in pod_specs(resource_type, props):
        for container in containers(pod.spec, ("containers",)):
            options = _server_options(container.spec)
            if options is not None:
                name = str(container.spec.get("name", container.position))
                yield MlflowServer(pod, name, options, _env(container.spec))


def _is_oauth2_proxy(container: Mapping[str, Any]) -> bool:
    command = [str(word) for word in sequence(container.get("command"))]
    return _image_name(str(container.get("image", ""))) == "oauth2-proxy" or (
        bool(command) and posixpath.basename(command[0]) == "oauth2-proxy"
    )


def _unauthenticated(server: MlflowServer) -> str | None:
    """Why `server` answers anonymous requests, or None if it does not."""
    if server.option("--app-name"):
        return None
    proxied = any(
        _is_oauth2_proxy(other.spec)
        for other in containers(server.pod.spec, ("containers",))
        if other.spec.get("name") != server.name
    )
    if not proxied:
        return "runs no authentication app (--app-name) and no authenticating proxy"
    if server.host not in LOOPBACK:
        return (
            f"sits beside an oauth2-proxy but listens on {server.host}, so clients reach "
            "MLflow's port without passing the proxy; listen on 127.0.0.1 (chart value "
            "serverHost) or use an authentication app"
        )
    return None


def _validate_authentication(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for server in mlflow_servers(args.resource_type, args.props):
        reason = _unauthenticated(server)
        if reason is not None:
            report(
                f"MLflow server in container {server.name!r} ({server.pod.where}) {reason}: "
                "anyone who reaches it reads and changes every experiment, model and "
                f"artifact. {HOW_MLFLOW_AUTHENTICATES}",
                args.urn,
            )


def _ini_permissions(text: str) -> Iterator[str]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    if parser.has_option("mlflow", "default_permission"):
        yield parser.get("mlflow", "default_permission")


def _default_permissions(args: ResourceValidationArgs) -> Iterator[tuple[str, str]]:
    """(where, permission) of every MLflow default permission the resource sets."""
    props = args.props
    files = {}
    if args.resource_type == CONFIG_MAP:
        files = {f"data.{k}": v for k, v in mapping(props.get("data")).items()}
    elif args.resource_type == SECRET:
        files = {f"stringData.{k}": v for k, v in mapping(props.get("stringData")).items()}
    for key, text in sorted(files.items()):
        if isinstance(text, str) and "[mlflow]" in text:
            for permission in _ini_permissions(text):
                yield f"{key} default_permission", permission
    for pod in pod_specs(args.resource_type, props):
        for container in containers(pod.spec):
            value = _env(container.spec).get(PERMISSION_ENV)
            if isinstance(value, str):
                where = f"{pod.where}.{container.path}.env {PERMISSION_ENV}"
                yield where, value


def _validate_default_permission(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, permission in _default_permissions(args):
        if permission.strip().upper() not in READ_AT_MOST:
            report(
                f"{where} is {permission}: every signed-in MLflow user may change or delete "
                "every experiment and registered model they were not granted; set it to "
                "READ (chart value auth.defaultPermission, or oidcAuth.defaultPermission) "
                "and grant EDIT or MANAGE per experiment or model",
                args.urn,
            )


RULES: tuple[Rule, ...] = (
    resource_rule(
        AUTHENTICATION_RULE,
        "Every MLflow tracking server authenticates its users: an authentication app "
        "(--app-name) or an authenticating proxy in its pod that cannot be bypassed.",
        _validate_authentication,
        severity=Severity.HIGH,
        remediation=(
            f"{HOW_MLFLOW_AUTHENTICATES}; a server of your own passes --app-name basic-auth "
            "(or oidc-auth, or your app), or runs an oauth2-proxy container in its pod with "
            "MLflow on --host 127.0.0.1. Change it in the component that deploys the server, "
            "or through plinth:mlflow.values_override."
        ),
        # staging and prod: both are reached through the gateway on a real domain, and
        # staging's models are promoted to prod; dev is told, for a laptop experiment.
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        PERMISSION_RULE,
        "MLflow's default permission for signed-in users is READ (or NO_PERMISSIONS), "
        "not EDIT or MANAGE.",
        _validate_default_permission,
        severity=Severity.MEDIUM,
        remediation=(
            "Keep the MLflow component's default permission at READ (chart value "
            "auth.defaultPermission; oidcAuth.defaultPermission, whose chart default is "
            "MANAGE), through plinth:mlflow.values_override if you changed it, and grant "
            "EDIT or MANAGE per experiment or registered model."
        ),
        # prod: registered prod models are what serving deploys; elsewhere a team may
        # share everything while it iterates.
        levels=MANDATORY_IN_PROD,
    ),
)
