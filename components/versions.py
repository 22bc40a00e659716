"""Every pinned upstream version Plinth deploys, in one place.

Each pin carries a Renovate-style comment naming its source so that an update bot (or a
person) can find the next release. Bump one pin at a time and run `make test`: the tests
validate what Plinth renders against the upstream files of the pinned version.
"""

from __future__ import annotations

# renovate: datasource=helm depName=spark-operator registryUrl=https://kubeflow.github.io/spark-operator
SPARK_OPERATOR_CHART = "2.5.2"
SPARK_OPERATOR_CHART_REPO = "https://kubeflow.github.io/spark-operator"
# The CRDs ship in the chart's crds/ folder; installed from the release tag matching the chart.
# renovate: datasource=github-tags depName=kubeflow/spark-operator
SPARK_OPERATOR_RELEASE = "v2.5.2"
SPARK_OPERATOR_CRD_BASE = (
    "https://raw.githubusercontent.com/kubeflow/spark-operator/"
    f"{SPARK_OPERATOR_RELEASE}/charts/spark-operator-chart/crds"
)

# renovate: datasource=docker depName=docker.io/library/spark
SPARK_IMAGE = "docker.io/library/spark:4.0.1"

# Kubeflow training operator v1 (TFJob, PyTorchJob, MPIJob, XGBoostJob, JAXJob, PaddleJob).
# kubeflow/training-operator was renamed kubeflow/trainer; its 2.x releases are Kubeflow
# Trainer (the TrainJob API), a different operator: stay on 1.x.
# renovate: datasource=github-tags depName=kubeflow/trainer allowedVersions=<2
TRAINING_OPERATOR_RELEASE = "v1.9.4"
TRAINING_OPERATOR_CRD_BASE = (
    "https://raw.githubusercontent.com/kubeflow/trainer/"
    f"{TRAINING_OPERATOR_RELEASE}/manifests/base/crds"
)
# The image the release's manifests/overlays/standalone/kustomization.yaml pins (images,
# newTag). Its tags are `v1-<commit>`, not versions: bump it together with the release above.
# renovate: datasource=docker depName=ghcr.io/kubeflow/training-v1/training-operator
TRAINING_OPERATOR_IMAGE = "ghcr.io/kubeflow/training-v1/training-operator:v1-93c5489"

# The training example's image: official PyTorch with CUDA, which also runs on CPU.
# renovate: datasource=docker depName=docker.io/pytorch/pytorch
PYTORCH_IMAGE = "docker.io/pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
