"""How jobs find MLflow: the names the MLflow component creates in the jobs namespace and
the examples read. No SDK: the Spark and training examples import it too.

The ConfigMap `mlflow` carries MLFLOW_TRACKING_URI; the Secret `mlflow-credentials` (keys
MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, an MLflow user the team creates) is
the team's. A job takes both with `env_from()`: both optional, so a job runs the same
whether or not the environment deploys MLflow.
"""

from __future__ import annotations

import ast
from pathlib import Path

TRACKING_CONFIGMAP = "mlflow"
CREDENTIALS_SECRET = "mlflow-credentials"  # noqa: S105 (a Secret's name, not a secret)


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


def script_body(script: Path) -> str:
    """The text of a Python script without its module docstring."""
    source = script.read_text(encoding="utf-8")
    statements = ast.parse(source).body
    first_code = statements[1] if ast.get_docstring(ast.Module(statements, [])) else statements[0]
    return "".join(source.splitlines(keepends=True)[first_code.lineno - 1 :])


# The examples' logging: the MLflow REST API through Python's standard library, so no
# example image needs the mlflow package (log_example_run.py).
LOG_EXAMPLE_RUN = script_body(Path(__file__).with_name("log_example_run.py"))


def with_run_logging(program: str) -> str:
    """`program` (a script's text) preceded by `log_example_run`, which it may call."""
    return f"{LOG_EXAMPLE_RUN}\n\n{program}"
