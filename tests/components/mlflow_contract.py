"""The MLflow contract, checked against a real MLflow server started from the rendering.

`check_contract` takes the Kubernetes objects Plinth renders for MLflow and runs the MLflow
Deployment's pod on this machine (tests/local_pod.py: its init containers, then its
`mlflow server` container, with the command, args, environment, ConfigMaps, Secrets and
volumes the kubelet would give it), with MLflow from .venv-mlflow (the pinned appVersion)
standing in for the image. Only then are the in-cluster addresses the rendering names
swapped for the local servers standing in for them (`LocalAddresses`, the one mapping):
a real PostgreSQL (`LocalPostgres`) and moto's S3 server, both on 127.0.0.1.

The local servers hold only what the environment's configuration names (`Expectation`):
the one bucket, the one database and its owner. A rendering that points MLflow elsewhere
therefore fails here, as it would in the cluster. The check then does what users do (log
a run with parameters, metrics and an artifact, register a model version, read them back)
and what attackers do (ask without credentials, or with a wrong password), and raises
ContractError with the reason at the first thing that does not hold.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.conftest import ROOT
from tests.local_pod import ClusterObjects, LocalPod, PodError, executable

MLFLOW_BIN = ROOT / ".venv-mlflow" / "bin"
CLIENT_SCRIPT = Path(__file__).with_name("mlflow_contract_client.py")
READY_TIMEOUT_S = 60
CLIENT_TIMEOUT_S = 120
LOG_TAIL_CHARS = 1500
SERVER_LOG = "mlflow.log"
# A Python traceback's last line: `module.ExceptionName: message`.
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|NoSuch\w+): .*$", re.MULTILINE)
# What MLflow logs before it retries a database connection (mlflow/store/db/utils.py).
RETRYING = "SQLAlchemy engine could not be created"
# Postgres refuses to run as root; as root the test runs it as this account (the Debian
# package creates it), or as nobody where it is missing.
POSTGRES_ACCOUNTS = ("postgres", "nobody")
# The superuser over the Unix socket (the test's own setup); everyone else over TCP with
# TLS and a password.
HOST_BASED_AUTHENTICATION = """\
local all all trust
hostssl all all 127.0.0.1/32 scram-sha-256
"""


class ContractError(Exception):
    """The rendered MLflow configuration does not work: the reason is the message."""


@dataclass(frozen=True)
class Expectation:
    """What the environment's configuration names, independently of the rendering."""

    bucket: str
    prefix: str
    database: str
    database_user: str
    database_password: str
    admin_user: str
    admin_password: str
    client_hosts: tuple[str, ...]
    """The Host headers MLflow's clients send: its gateway host, the name jobs use."""


@dataclass(frozen=True)
class LocalAddresses:
    """The one mapping from the in-cluster addresses in the rendering to local servers.

    - MLflow's `--host` becomes 127.0.0.1 and its `--port` (which must be the container's
      port the readiness probe names) becomes `listen_port`;
    - each of `database_hosts` at `database_port` (the forms a Service's DNS name takes)
      becomes the local PostgreSQL, wherever it is written as `host:port` (in args,
      environment values and mounted files, e.g. the basic-auth INI's database URI) and as
      libpq's PGHOST/PGPORT pair;
    - `object_store_url` (the S3 endpoint URL) becomes moto's URL wherever it is written.
    Anything else in-cluster stays as rendered, and fails to resolve here.
    """

    listen_port: int
    database_hosts: tuple[str, ...]
    database_port: int
    local_database: tuple[str, int]
    object_store_url: str
    local_object_store_url: str

    def replacements(self) -> list[tuple[str, str]]:
        """(in-cluster text, local text) pairs, longest first."""
        host, port = self.local_database
        pairs = [(f"{name}:{self.database_port}", f"{host}:{port}") for name in self.database_hosts]
        pairs.append((self.object_store_url, self.local_object_store_url))
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def localize_text(self, text: str) -> str:
        for in_cluster, local in self.replacements():
            text = text.replace(in_cluster, local)
        return text

    def localize(
        self, argv: list[str], environment: dict[str, str], container_port: int | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """A container's expanded command line and environment, pointed at local servers.

        `container_port`: the port of the container whose server this is (its `--host`
        and `--port` are rewritten); None for the other (init) containers.
        """
        localized = {name: self.localize_text(value) for name, value in environment.items()}
        if localized.get("PGHOST") in self.database_hosts and localized.get("PGPORT") == str(
            self.database_port
        ):
            localized["PGHOST"], port = self.local_database
            localized["PGPORT"] = str(port)
        return [self._localize_word(word, container_port) for word in argv], localized

    def _localize_word(self, word: str, container_port: int | None) -> str:
        if container_port is None:
            return self.localize_text(word)
        if word.startswith("--host="):
            return "--host=127.0.0.1"
        if word.startswith("--port="):
            if word != f"--port={container_port}":
                raise ContractError(
                    f"MLflow listens on {word}, the container's port is {container_port}"
                )
            return f"--port={self.listen_port}"
        return self.localize_text(word)


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin() -> Path:
    """The directory of the Debian PostgreSQL server binaries (`make test` installs them)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise ContractError(
            "PostgreSQL not found (/usr/lib/postgresql/*/bin/initdb): install the Debian "
            "package postgresql (`make postgresql` does, as root)"
        )
    return found[-1].parent


class LocalPostgres:
    """A throwaway PostgreSQL cluster in `root`, on 127.0.0.1 only: TLS, as CloudNativePG
    and RDS serve it (a self-signed certificate, which sslmode `require` accepts), and
    required, so a client that does not ask for TLS is refused; passwords checked."""

    def __init__(self, root: Path) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.data = root / "data"
        self.socket_dir = root
        self.account = _postgres_account()
        if self.account is not None:
            shutil.chown(root, self.account, self.account)
        self._run(
            self.bin / "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
            "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        self._run(
            Path("/usr/bin/openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-days", "1", "-subj", "/CN=127.0.0.1",
            "-keyout", str(self.data / "server.key"), "-out", str(self.data / "server.crt"),
        )  # fmt: skip
        (self.data / "server.key").chmod(0o600)
        (self.data / "pg_hba.conf").write_text(HOST_BASED_AUTHENTICATION)
        options = f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off -c ssl=on"
        self._run(
            self.bin / "pg_ctl", "-D", str(self.data), "-l", str(root / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def create_database(self, name: str, owner: str, password: str) -> None:
        """A login role `owner` with `password`, owning a new database `name`."""
        escaped = password.replace("'", "''")
        self.sql(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{escaped}'")
        self.sql(f'CREATE DATABASE "{name}" OWNER "{owner}"')

    def sql(self, statement: str) -> None:
        """One statement as the superuser, over the Unix socket."""
        self._run(
            self.bin / "psql", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
            "-v", "ON_ERROR_STOP=1", "-qc", statement,
        )  # fmt: skip

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def _run(self, program: Path, *args: str) -> None:
        """`program` as the account PostgreSQL runs as."""
        command = [str(program), *args]
        if self.account is not None:
            command = ["runuser", "-u", self.account, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise ContractError(f"{program.name} failed: {output}")


def _postgres_account() -> str | None:
    """The account PostgreSQL runs as: None (ourselves) unless we are root."""
    if os.getuid() != 0:
        return None
    for account in POSTGRES_ACCOUNTS:
        try:
            pwd.getpwnam(account)
        except KeyError:
            continue
        return account
    raise ContractError("running as root and no postgres or nobody account to run PostgreSQL as")


@contextmanager
def local_postgres() -> Iterator[LocalPostgres]:
    """A running LocalPostgres, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="plinth-postgres-"))
    try:
        server = LocalPostgres(root)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def mlflow_deployment(objects: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The Deployment whose container runs `mlflow server`."""
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        containers = obj["spec"]["template"]["spec"]["containers"]
        if any(container.get("command") == ["mlflow"] for container in containers):
            return obj
    raise ContractError("no Deployment runs mlflow among the rendered objects")


@dataclass(frozen=True)
class ContractReport:
    """What the client logged and read back, for the caller to look at."""

    run: Mapping[str, Any]
    artifact_key: str


def check_contract(
    objects: Sequence[Mapping[str, Any]],
    expectation: Expectation,
    addresses: LocalAddresses,
    s3_client: Any,
    workdir: Path,
) -> ContractReport:
    """Start MLflow as the rendering configures it, and check what users and attackers see."""
    with running_mlflow(objects, addresses, workdir) as base_url:
        _check_refused(base_url, None)
        _check_refused(base_url, (expectation.admin_user, expectation.admin_password + "-wrong"))
        admin = (expectation.admin_user, expectation.admin_password)
        for host in expectation.client_hosts:
            _get(f"{base_url}/api/2.0/mlflow/experiments/search?max_results=1", admin, host)
        _check_scrapes(base_url, objects)
        run = _client_round_trip(base_url, expectation, workdir)
        artifact = run["request"]["artifact"]
        proxied = _get(
            f"{base_url}/api/2.0/mlflow-artifacts/artifacts/{run['experiment_id']}/"
            f"{run['run_id']}/artifacts/{artifact['path']}",
            admin,
        )
        if proxied != artifact["text"].encode():
            raise ContractError(f"the proxied artifact API returned {proxied[:100]!r}")
    key = (
        f"{expectation.prefix}/{run['experiment_id']}/{run['run_id']}/artifacts/{artifact['path']}"
    )
    try:
        stored = s3_client.get_object(Bucket=expectation.bucket, Key=key)["Body"].read()
    except s3_client.exceptions.NoSuchKey:
        raise ContractError(
            f"the artifact is not in bucket {expectation.bucket} at {key}"
        ) from None
    if stored != artifact["text"].encode():
        raise ContractError(f"bucket {expectation.bucket} holds {stored[:100]!r} at {key}")
    return ContractReport(run=run, artifact_key=key)


@contextmanager
def running_mlflow(
    objects: Sequence[Mapping[str, Any]], addresses: LocalAddresses, workdir: Path
) -> Iterator[str]:
    """The MLflow Deployment's pod run here; its base URL while it runs."""
    spec = mlflow_deployment(objects)["spec"]["template"]["spec"]
    pod = LocalPod(spec, ClusterObjects.of(objects), workdir / "pod")
    container = next(c for c in spec["containers"] if c.get("command") == ["mlflow"])
    probe = container["readinessProbe"]["httpGet"]
    container_port = _container_port(container, probe["port"])
    base = _base_environment(workdir)
    try:
        pod.run_init_containers(base, addresses.localize, doomed=RETRYING)
        _localize_volumes(pod, addresses)
        argv, environment = addresses.localize(
            *pod.argv_and_environment(container), container_port=container_port
        )
        environment = {**base, **environment}
        program = executable(argv[0], environment)
    except PodError as error:
        raise ContractError(f"the pod would not start: {error}") from None
    log_path = workdir / SERVER_LOG
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [program, *argv[1:]],
            env=environment,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{addresses.listen_port}"
    try:
        _wait_ready(process, f"{base_url}{probe['path']}", log_path)
        yield base_url
    finally:
        _stop(process)


def _base_environment(workdir: Path) -> dict[str, str]:
    """What the image gives every container before the pod's own environment: MLflow on
    PATH, a home of its own. And one worker (MLflow's default is 4) on the test machine;
    a `--workers` the rendering passed would still win."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": f"{MLFLOW_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MLFLOW_WORKERS": "1",
    }


def _localize_volumes(pod: LocalPod, addresses: LocalAddresses) -> None:
    """The in-cluster addresses in the pod's files (e.g. the auth INI) made local."""
    for directory in pod.volumes.values():
        for path in directory.rglob("*"):
            if path.is_file():
                path.write_text(addresses.localize_text(path.read_text()))


def _container_port(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    for declared in container.get("ports") or ():
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ContractError(f"the readiness probe names port {port}, which the container lacks")


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ContractError(
                f"MLflow exited {process.returncode} before it was ready: "
                f"{log_path.read_text()[-LOG_TAIL_CHARS:]}"
            )
        log = log_path.read_text()
        if RETRYING in log:  # our PostgreSQL is up: a retry fails again
            raise ContractError(f"MLflow cannot use its database: {log[-LOG_TAIL_CHARS:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (http to 127.0.0.1)
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise ContractError(f"MLflow not ready in {READY_TIMEOUT_S} s: {log_path.read_text()[-500:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The server and its workers (its process group), gently, then not."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, 15)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait(timeout=15)


def _request(
    url: str, credentials: tuple[str, str] | None, host: str | None = None
) -> urllib.request.Request:
    request = urllib.request.Request(url)  # noqa: S310 (http to 127.0.0.1)
    if host is not None:
        request.add_header("Host", host)
    if credentials is not None:
        token = b64encode(":".join(credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request


def _get(url: str, credentials: tuple[str, str] | None, host: str | None = None) -> bytes:
    request = _request(url, credentials, host)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        via = f" with Host {host}" if host else ""
        raise ContractError(f"GET {url}{via}: HTTP {error.code}") from None


def _check_refused(base_url: str, credentials: tuple[str, str] | None) -> None:
    """A request without (valid) credentials must be answered 401."""
    url = f"{base_url}/api/2.0/mlflow/experiments/search?max_results=1"
    who = "an unauthenticated request" if credentials is None else "a wrong password"
    try:
        with urllib.request.urlopen(_request(url, credentials), timeout=30) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 401:
        raise ContractError(f"{who} was answered {status}, not 401: authentication is off")


def _last_exception(log_path: Path) -> str:
    """The last exception line in a log, or that there is none."""
    found = EXCEPTION_LINE.findall(log_path.read_text())
    return str(found[-1])[:LOG_TAIL_CHARS] if found else "none logged"


def _check_scrapes(base_url: str, objects: Sequence[Mapping[str, Any]]) -> None:
    """Each ServiceMonitor endpoint answers Prometheus, signed in as the monitor says."""
    cluster = ClusterObjects.of(objects)
    for monitor in (obj for obj in objects if obj.get("kind") == "ServiceMonitor"):
        for endpoint in monitor["spec"].get("endpoints") or ():
            credentials = None
            if "basicAuth" in endpoint:
                try:
                    credentials = (
                        str(cluster.value("Secret", endpoint["basicAuth"]["username"])),
                        str(cluster.value("Secret", endpoint["basicAuth"]["password"])),
                    )
                except PodError as error:
                    raise ContractError(f"Prometheus cannot sign in: {error}") from None
            metrics = _get(f"{base_url}{endpoint.get('path', '/metrics')}", credentials)
            if b"# TYPE " not in metrics:
                raise ContractError(f"{endpoint.get('path')} answers no Prometheus metrics")


def _client_round_trip(base_url: str, expectation: Expectation, workdir: Path) -> dict[str, Any]:
    """MLflow's client, with the admin credentials: what it logged and read back."""
    request: dict[str, Any] = {
        "tracking_uri": base_url,
        "experiment": "plinth-contract",
        "params": {"learning_rate": "0.01", "epochs": "3"},
        "metrics": {"accuracy": 0.93, "loss": 0.21},
        "artifact": {"path": "contract/notes.txt", "text": f"logged from {workdir.name}\n"},
        "model": f"plinth-contract-{workdir.name}",
        "output": str(workdir / "client-result.json"),
    }
    environment = {
        **_base_environment(workdir),
        "MLFLOW_TRACKING_USERNAME": expectation.admin_user,
        "MLFLOW_TRACKING_PASSWORD": expectation.admin_password,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    result = subprocess.run(
        [str(MLFLOW_BIN / "python"), str(CLIENT_SCRIPT), json.dumps(request)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        error = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output"
        raise ContractError(
            f"the MLflow client failed: {error}; the server's last error: "
            f"{_last_exception(workdir / SERVER_LOG)}"
        )
    run: dict[str, Any] = json.loads(Path(request["output"]).read_text())
    if run["params"] != request["params"] or run["metrics"] != request["metrics"]:
        raise ContractError(f"read back {run['params']} {run['metrics']}, logged {request}")
    if run["artifact_text"] != request["artifact"]["text"]:
        raise ContractError(f"the artifact read back is {run['artifact_text']!r}")
    version = run["model_version"]
    if version["name"] != request["model"] or version["run_id"] != run["run_id"]:
        raise ContractError(f"the model version read back is {version}")
    return {**run, "request": request}


def s3_client(endpoint_url: str) -> Any:
    """A boto3 S3 client for moto's server (any key pair: moto does not check them)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="contract-test",
        aws_secret_access_key="contract-test",  # noqa: S106 (moto's placeholder)
    )
