"""Log one MLflow run for a Plinth example through MLflow's REST API (standard library only).

Appended to an example's program (read by components/mlflow/jobs.py, never imported by
Plinth); the program then calls `log_example_run(experiment, params, metrics)`. Without
MLFLOW_TRACKING_URI (the environment deploys no MLflow) it logs nothing; with it, a failure
fails the example, so a broken tracking setup shows.
"""

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


def mlflow_request(path: str, body: dict[str, Any] | None = None) -> Any:
    """POST `body` (or GET without one) to MLflow's REST API, as MLFLOW_TRACKING_USERNAME."""
    uri = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
    request = urllib.request.Request(  # noqa: S310 (the URI is the platform's own)
        f"{uri}/api/2.0/mlflow/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if user:
        pair = f"{user}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def experiment_id(name: str) -> str:
    """The id of experiment `name`, created on first use."""
    try:
        return str(mlflow_request("experiments/create", {"name": name})["experiment_id"])
    except urllib.error.HTTPError as error:
        if error.code != 400:
            raise
    query = urllib.parse.urlencode({"experiment_name": name})
    return str(mlflow_request(f"experiments/get-by-name?{query}")["experiment"]["experiment_id"])


def log_example_run(experiment: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
    """One finished run in `experiment` with `params` and `metrics` (name -> value)."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        print("MLflow: MLFLOW_TRACKING_URI is not set; no run logged")
        return
    now_ms = int(time.time() * 1000)
    created = mlflow_request(
        "runs/create", {"experiment_id": experiment_id(experiment), "start_time": now_ms}
    )
    run_id = created["run"]["info"]["run_id"]
    batch = {
        "run_id": run_id,
        "params": [{"key": k, "value": str(v)} for k, v in sorted(params.items())],
        "metrics": [
            {"key": k, "value": float(v), "timestamp": now_ms, "step": 0}
            for k, v in sorted(metrics.items())
        ],
    }
    mlflow_request("runs/log-batch", batch)
    mlflow_request("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now_ms})
    print(f"MLflow: run {run_id} logged in experiment {experiment}")
