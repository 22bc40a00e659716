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

# Cluster Autoscaler: one image per Kubernetes minor, since each release is built and tested
# for the Kubernetes minor of the same number (kubernetes/autoscaler cluster-autoscaler/
# README.md, "Releases"). The newest patch of each minor, from the repository's tags
# `cluster-autoscaler-1.<minor>.<patch>`. Bump each pin within its own minor only.
# renovate: datasource=docker depName=registry.k8s.io/autoscaling/cluster-autoscaler
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_TAGS = {
    "1.31": "v1.31.5",  # renovate: allowedVersions=/^v1\.31\./
    "1.32": "v1.32.7",  # renovate: allowedVersions=/^v1\.32\./
    "1.33": "v1.33.6",  # renovate: allowedVersions=/^v1\.33\./
    "1.34": "v1.34.5",  # renovate: allowedVersions=/^v1\.34\./
    "1.35": "v1.35.2",  # renovate: allowedVersions=/^v1\.35\./
}

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

# NVIDIA GPU enablement (components/gpu_enablement.py). Mode device-plugin: the device
# plugin chart and the DCGM exporter chart, whose versions are the exporter's (its release
# tags read <DCGM version>-<exporter version>, e.g. 4.5.3-4.8.2).
# renovate: datasource=helm depName=nvidia-device-plugin registryUrl=https://nvidia.github.io/k8s-device-plugin
NVIDIA_DEVICE_PLUGIN_CHART = "0.20.0"
NVIDIA_DEVICE_PLUGIN_CHART_REPO = "https://nvidia.github.io/k8s-device-plugin"
# renovate: datasource=helm depName=dcgm-exporter registryUrl=https://nvidia.github.io/dcgm-exporter/helm-charts
DCGM_EXPORTER_CHART = "4.8.2"
DCGM_EXPORTER_CHART_REPO = "https://nvidia.github.io/dcgm-exporter/helm-charts"
# Mode gpu-operator. NGC chart versions carry a leading "v". The CRDs ship in the chart's
# crds/ folder; installed from the release tag matching the chart: bump both together.
# renovate: datasource=helm depName=gpu-operator registryUrl=https://helm.ngc.nvidia.com/nvidia
GPU_OPERATOR_CHART = "v26.7.0"
GPU_OPERATOR_CHART_REPO = "https://helm.ngc.nvidia.com/nvidia"
# renovate: datasource=github-tags depName=NVIDIA/gpu-operator
GPU_OPERATOR_RELEASE = "v26.7.0"
GPU_OPERATOR_CRD_BASE = (
    "https://raw.githubusercontent.com/NVIDIA/gpu-operator/"
    f"{GPU_OPERATOR_RELEASE}/deployments/gpu-operator/crds"
)

# Monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, the prometheus-operator,
# kube-state-metrics, node exporter). Its chart pins its dependencies (kube-state-metrics
# 8.4.0, prometheus-node-exporter 4.56.1, grafana 12.11.1); the prometheus-operator CRDs
# ship in its `crds` subchart, installed from the release tag matching the chart.
# renovate: datasource=helm depName=kube-prometheus-stack registryUrl=https://prometheus-community.github.io/helm-charts
KUBE_PROMETHEUS_STACK_CHART = "88.5.3"
KUBE_PROMETHEUS_STACK_CHART_REPO = "https://prometheus-community.github.io/helm-charts"
KUBE_PROMETHEUS_STACK_CRD_BASE = (
    "https://raw.githubusercontent.com/prometheus-community/helm-charts/"
    f"kube-prometheus-stack-{KUBE_PROMETHEUS_STACK_CHART}/charts/kube-prometheus-stack/charts/crds/crds"
)

# cert-manager. Its Chart.yaml in git says v0.0.0 for the chart and the images (the release
# tooling stamps them), so Plinth sets the image tags to the release too. The CRDs are the
# release's deploy/crds files, installed as their own stage: bump all three together.
# renovate: datasource=helm depName=cert-manager registryUrl=https://charts.jetstack.io
CERT_MANAGER_CHART = "v1.21.1"
CERT_MANAGER_CHART_REPO = "https://charts.jetstack.io"
CERT_MANAGER_IMAGE_TAG = CERT_MANAGER_CHART
CERT_MANAGER_CRD_BASE = (
    f"https://raw.githubusercontent.com/cert-manager/cert-manager/{CERT_MANAGER_CHART}/deploy/crds"
)

# Istio: the base, istiod and gateway charts of one release. Their Chart.yaml in git says
# 1.0.0 and istiod's images default to a testing registry (the release tooling stamps the
# published ones), so Plinth sets the chart version, the hub and the tag. The CRDs are the
# release's crd-all.gen.yaml, installed as their own stage. Bump all of them together.
# renovate: datasource=helm depName=istiod registryUrl=https://istio-release.storage.googleapis.com/charts
ISTIO_CHART = "1.30.3"
ISTIO_CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
ISTIO_HUB = "docker.io/istio"
ISTIO_TAG = ISTIO_CHART
ISTIO_CRD_BASE = (
    f"https://raw.githubusercontent.com/istio/istio/{ISTIO_CHART}/manifests/charts/base/files"
)

# MLflow: the community-charts chart and the image it defaults to (its appVersion, MLflow
# 3.15.1, built by the chart's maintainer with the database drivers and cloud SDKs). The
# chart's init containers use busybox. Bump the chart, the image tag and busybox together,
# as the chart's Chart.yaml `artifacthub.io/images` lists them.
# renovate: datasource=helm depName=mlflow registryUrl=https://community-charts.github.io/helm-charts
MLFLOW_CHART = "1.11.5"
MLFLOW_CHART_REPO = "https://community-charts.github.io/helm-charts"
# renovate: datasource=docker depName=docker.io/burakince/mlflow
MLFLOW_IMAGE_REPOSITORY = "docker.io/burakince/mlflow"
MLFLOW_IMAGE_TAG = "3.15.1"
# renovate: datasource=docker depName=docker.io/library/busybox
BUSYBOX_IMAGE_REPOSITORY = "docker.io/library/busybox"
BUSYBOX_IMAGE_TAG = "1.38.0"

# CloudNativePG: the PostgreSQL operator MLflow's database runs on outside EKS. Chart 0.29.0
# ships operator 1.30.0 (its appVersion); the CRDs are the operator release's per-CRD files,
# installed from the same tag: bump the chart and the release together.
# renovate: datasource=helm depName=cloudnative-pg registryUrl=https://cloudnative-pg.github.io/charts
CLOUDNATIVE_PG_CHART = "0.29.0"
CLOUDNATIVE_PG_CHART_REPO = "https://cloudnative-pg.github.io/charts"
# renovate: datasource=github-tags depName=cloudnative-pg/cloudnative-pg
CLOUDNATIVE_PG_RELEASE = "v1.30.0"
CLOUDNATIVE_PG_IMAGE_TAG = CLOUDNATIVE_PG_RELEASE.removeprefix("v")
CLOUDNATIVE_PG_CRD_BASE = (
    "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/"
    f"{CLOUDNATIVE_PG_RELEASE}/config/crd/bases"
)
# The PostgreSQL image of MLflow's CloudNativePG cluster, pinned so that an operator upgrade
# never changes it (a major upgrade is a decision): major 17, like the RDS engine on EKS. The
# `system` flavour, because it is the one that carries barman-cloud, which the operator's
# in-tree object-store backups run (the `minimal` and `standard` images do not).
# renovate: datasource=docker depName=ghcr.io/cloudnative-pg/postgresql
CLOUDNATIVE_PG_POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.9-system-trixie"
