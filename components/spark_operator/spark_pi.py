"""The SparkPi example's program: estimate pi on the cluster with PySpark, then log the run.

Shipped in the ConfigMap `spark-pi` the driver mounts (read by component.py, never
imported), after components/mlflow/log_example_run.py, which defines `log_example_run`: it
logs to MLflow when the jobs namespace's `mlflow` ConfigMap gives MLFLOW_TRACKING_URI.
"""

import random

from pyspark.sql import SparkSession

PARTITIONS = 10
SAMPLES = 100_000 * PARTITIONS


def in_unit_circle(_: int) -> int:
    """1 when a random point of the square [-1, 1]² falls inside the unit circle."""
    x, y = random.uniform(-1, 1), random.uniform(-1, 1)  # noqa: S311 (a Monte Carlo draw)
    return 1 if x * x + y * y <= 1 else 0


spark = SparkSession.builder.appName("spark-pi").getOrCreate()
hits = (
    spark.sparkContext.parallelize(range(SAMPLES), PARTITIONS)
    .map(in_unit_circle)
    .reduce(lambda a, b: a + b)
)
pi = 4.0 * hits / SAMPLES
print(f"pi is roughly {pi:.5f} ({SAMPLES} samples)")
spark.stop()
log_example_run(  # type: ignore[name-defined]  # noqa: F821 (defined before this program)
    "plinth-examples",
    {"example": "spark-pi", "partitions": PARTITIONS, "samples": SAMPLES},
    {"pi": pi},
)
