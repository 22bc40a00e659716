"""How jobs find MLflow: the names the MLflow component creates in the jobs namespace and
the examples read. No SDK: the Spark and training examples import it too.

The ConfigMap `mlflow` carries MLFLOW_TRACKING_URI; the Secret `mlflow-credentials` (keys
MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, an MLflow user the team creates) is
the team's. A job takes both with `env_from()`: both optional, so a job runs the same
whether or not the environment deploys MLflow.
"""

from __future__ import annotations

from pathlib import Path

TRACKING_CONFIGMAP = "mlflow"
CREDENTIALS_SECRET = "mlflow-credentials"  # noqa: S105 (a Secret's name, not a secret)
# The label of the pods the jobs namespace lets reach MLflow (every pod there may carry it).
TRACKING_CLIENT_LABEL = {"plinth.io/mlflow-client": "true"}


def env_from() -> list[dict[str, object]]:
    """A container's `envFrom` (camelCase) for MLflow's tracking URI and credentials."""
    return [
        {"configMapRef": {"name": TRACKING_CONFIGMAP, "optional": True}},
        {"secretRef": {"name": CREDENTIALS_SECRET, "optional": True}},
    ]


def tracking_uri(service: str, namespace: str) -> str:
    """The in-cluster URI of MLflow's Service (port 80): plain HTTP, since neither the jobs
    namespace nor MLflow's is sidecar-injected (README, 'Jobs')."""
    return f"http://{service}.{namespace}.svc.cluster.local"


# The examples' logging, appended to their programs: the MLflow REST API through Python's
# standard library, so no image needs the mlflow package (log_example_run.py).
LOG_EXAMPLE_RUN = Path(__file__).with_name("log_example_run.py").read_text()
