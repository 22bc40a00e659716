"""The `mlflow` chart's values Plinth renders: pure functions of the settings, the database
and the artifact store, so tests read them without deploying anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import versions
from components.chart_component import release_values
from components.cluster import Cluster
from components.mlflow.args import MlflowArgs
from components.mlflow.database import MlflowDatabase
from components.pod_security import RESTRICTED_CONTAINER

# The chart names every object after this (fullnameOverride): Deployment, Service,
# ServiceAccount `mlflow`, and the Secret `mlflow-flask-server-secret-key` it reads.
FULLNAME = "mlflow"
FLASK_SECRET = f"{FULLNAME}-flask-server-secret-key"
FLASK_SECRET_KEY = "MLFLOW_FLASK_SERVER_SECRET_KEY"  # noqa: S105 (the key's name)
SERVICE_PORT = 80
CONTAINER_PORT = 5000
# The chart's selector labels that do not name the release: what policies select.
SERVER_LABELS = {"app.kubernetes.io/name": FULLNAME}
# The image's user (the chart's default securityContext).
MLFLOW_UID = 1001
# Where `--expose-prometheus` keeps its multiprocess files: an emptyDir, since the root file
# system is read-only.
METRICS_DIR = "/mlflow/metrics"
# MLflow's own default allowed Host headers (mlflow/server/security_utils.py): loopback and
# the private address ranges, which Prometheus and the kubelet use (pod IPs). Setting the
# list replaces the default, so it is repeated here next to the names MLflow is served on.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "localhost:*", "127.0.0.1:*")
PRIVATE_ADDRESS_HOSTS = ("10.*", *(f"172.{i}.*" for i in range(16, 32)), "192.168.*")


@dataclass(frozen=True)
class ArtifactStore:
    """Where the server keeps artifacts: its chart values, and what its pods need."""

    values: Mapping[str, Any]
    """`artifactRoot` sub-values (s3 or azureBlob) of the chart."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Extra environment of the server (MLFLOW_S3_ENDPOINT_URL, AWS_DEFAULT_REGION)."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    port: int = 443
    """The TCP port the server reaches the store on (its egress policy)."""


def allowed_hosts(host: str, namespace: str) -> list[str]:
    """The Host headers MLflow answers: its gateway host, its Service's names, and
    MLflow's defaults (MLFLOW_SERVER_ALLOWED_HOSTS; anything else gets 403)."""
    service = f"{FULLNAME}.{namespace}.svc.cluster.local"
    return [host, service, f"{service}:*", *LOOPBACK_HOSTS, *PRIVATE_ADDRESS_HOSTS]


POSTGRES_DRIVER = "psycopg2"


def _postgres(database: MlflowDatabase) -> dict[str, Any]:
    return {
        "enabled": True,
        "host": database.host,
        "port": database.port,
        "database": database.name,
        # The image ships psycopg2; a driverless postgresql:// means psycopg 3 to
        # SQLAlchemy 2.1 and later, so the driver is named rather than left to a default.
        "driver": POSTGRES_DRIVER,
    }


def chart_values(
    args: MlflowArgs,
    cluster: Cluster,
    *,
    host: str,
    database: MlflowDatabase,
    artifacts: ArtifactStore,
    metrics: bool,
) -> dict[str, Any]:
    """The chart's values: the pinned image, PostgreSQL backend and auth store, proxied
    artifacts, basic-auth, restricted pods; `metrics` turns on the Prometheus exporter."""
    credentials = {"name": database.credentials_secret}
    container_security = {**RESTRICTED_CONTAINER, "runAsUser": MLFLOW_UID, "runAsGroup": MLFLOW_UID}
    rendered: dict[str, Any] = {
        "fullnameOverride": FULLNAME,
        "replicaCount": args.replicas,
        "image": {"repository": versions.MLFLOW_IMAGE_REPOSITORY, "tag": versions.MLFLOW_IMAGE_TAG},
        "initImages": {
            "iniFileInitializer": {
                "repository": versions.BUSYBOX_IMAGE_REPOSITORY,
                "tag": versions.BUSYBOX_IMAGE_TAG,
            },
            "mlflowDbMigration": {
                "repository": versions.MLFLOW_IMAGE_REPOSITORY,
                "tag": versions.MLFLOW_IMAGE_TAG,
            },
        },
        "serviceAccount": {
            "create": True,
            # Nothing in MLflow calls the Kubernetes API; IRSA and workload identity
            # inject their own projected tokens.
            "automount": False,
            "annotations": dict(sorted(artifacts.service_account_annotations.items())),
        },
        "extraPodLabels": dict(sorted({**cluster.labels, **artifacts.pod_labels}.items())),
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": MLFLOW_UID,
            "runAsGroup": MLFLOW_UID,
            "fsGroup": MLFLOW_UID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "securityContext": container_security,
        "resources": args.resources.to_kubernetes(),
        "service": {"type": "ClusterIP", "port": SERVICE_PORT, "containerPort": CONTAINER_PORT},
        "telemetry": {"enabled": False},
        "backendStore": {
            # An init container brings the schema to the image's MLflow version before
            # the server starts (MLflow refuses an outdated schema).
            "databaseMigration": True,
            "postgres": _postgres(database),
            "existingDatabaseSecret": credentials,
        },
        "artifactRoot": {"proxiedArtifactStorage": True, **artifacts.values},
        # The chart generates the key in a Helm hook, which Pulumi never applies: Plinth
        # or the team creates that Secret (FLASK_SECRET), and no value is set here.
        "flaskServerSecretKey": "",
        "auth": {
            "enabled": True,
            "existingAdminSecret": {"name": args.admin_secret},
            "defaultPermission": args.default_permission,
            # The same database: MLflow's auth tables and migrations (alembic_version_auth)
            # live beside the tracking store's.
            "postgres": {**_postgres(database), "existingSecret": credentials},
        },
        "serverAllowedHosts": allowed_hosts(host, args.namespace),
        "corsAllowedOrigins": [f"https://{host}"],
        # libpq's TLS mode for every connection: the tracking store's, the auth store's
        # and the schema migration's.
        "extraEnvVars": dict(sorted({**artifacts.env, "PGSSLMODE": database.ssl_mode}.items())),
        "serviceMonitor": {"enabled": False},
    }
    if metrics:
        # The chart's own ServiceMonitor has no basic-auth, which MLflow's /metrics needs:
        # Plinth creates the ServiceMonitor and asks for the exporter itself.
        rendered["extraArgs"] = {"exposePrometheus": METRICS_DIR}
        rendered["extraVolumes"] = [{"name": "prometheus-metrics", "emptyDir": {}}]
        rendered["extraVolumeMounts"] = [{"name": "prometheus-metrics", "mountPath": METRICS_DIR}]
    return release_values(rendered, args.values_override, args)
