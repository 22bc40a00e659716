"""What a data scientist does against MLflow, run by the contract test in .venv-mlflow.

Usage: python mlflow_contract_client.py REQUEST_JSON. The request names the tracking URI,
the experiment, the parameters, metrics and artifact to log and the model to register; the
credentials come from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, as for any
MLflow client. It logs one run, registers one model version, reads them back through the
server (MLflow's client, the artifact through the server's proxied artifact API) and writes
what it read as JSON to the request's `output` file (MLflow prints to stdout itself). Any
failure is an exception: a non-zero exit, the error on stderr.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow  # type: ignore[import-not-found]
from mlflow import MlflowClient


def main(request: dict[str, Any]) -> dict[str, Any]:
    """Log, register and read back what `request` names; what was read back."""
    mlflow.set_tracking_uri(request["tracking_uri"])
    experiment = mlflow.set_experiment(request["experiment"])
    artifact = request["artifact"]
    with mlflow.start_run() as run:
        mlflow.log_params(request["params"])
        mlflow.log_metrics(request["metrics"])
        mlflow.log_text(artifact["text"], artifact["path"])
    client = MlflowClient()
    client.create_registered_model(request["model"])
    version = client.create_model_version(
        request["model"], source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    read_run = client.get_run(run.info.run_id)
    read_version = client.get_model_version(request["model"], version.version)
    with tempfile.TemporaryDirectory() as download:
        local = client.download_artifacts(run.info.run_id, artifact["path"], download)
        artifact_text = Path(local).read_text()
    return {
        "experiment_id": experiment.experiment_id,
        "run_id": run.info.run_id,
        "artifact_uri": read_run.info.artifact_uri,
        "params": read_run.data.params,
        "metrics": read_run.data.metrics,
        "artifact_text": artifact_text,
        "model_version": {
            "name": read_version.name,
            "version": str(read_version.version),
            "run_id": read_version.run_id,
            "source": read_version.source,
        },
    }


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    Path(request["output"]).write_text(json.dumps(main(request)))
