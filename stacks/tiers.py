"""Tier defaults: what dev, staging and prod change from the component defaults.

The stack file is merged on top (maps merge recursively, lists replace), so a stack file
only states how it differs from its tier.
"""

from __future__ import annotations

from typing import Any

TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "jobs": {"pod_security": "restricted", "quota": {"cpu": "16", "memory": "64Gi", "gpus": 1}},
        "spark_operator": {"example": True},
        "training_operator": {"example": True},
        "monitoring": {"retention_days": 7, "storage_size_gib": 20},
    },
    "staging": {
        "jobs": {"quota": {"cpu": "64", "memory": "256Gi", "gpus": 4}},
        "spark_operator": {"example": True},
        "training_operator": {"example": True},
        "monitoring": {"retention_days": 15, "storage_size_gib": 50},
    },
    "prod": {
        # Two replicas with leader election keep job submission working through a node drain.
        "jobs": {"quota": {"cpu": "256", "memory": "1Ti", "gpus": 16, "pods": 500}},
        "spark_operator": {"controller_replicas": 2, "webhook_replicas": 2, "example": False},
        "training_operator": {"replicas": 2, "example": False},
        # Two Prometheus replicas each scrape everything: a node drain loses no samples.
        "monitoring": {"retention_days": 30, "storage_size_gib": 200, "prometheus_replicas": 2},
        # Two of each keep certificates issuing and traffic flowing through a node drain;
        # the gateway's load balancer is internal (EKS, AKS): reached from the company
        # network, not the internet.
        "cert_manager": {"replicas": 2},
        "mesh": {"istiod_replicas": 2, "gateway": {"internal": True, "min_replicas": 2}},
        # Two MLflow servers (stateless: PostgreSQL and the object store hold everything)
        # keep tracking up through a node drain.
        "mlflow": {"replicas": 2},
    },
}

# What each tier changes on an `eks` cluster (merged under plinth:cluster when its target is
# eks): prod keeps the API server off the internet and survives a zone's NAT outage.
EKS_TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {},
    "staging": {},
    "prod": {"endpoint_public_access": False, "nat_gateways": "per-zone"},
}

# What each tier changes on an `aks` cluster (merged under plinth:cluster when its target is
# aks): prod keeps the API server off the internet and has the uptime SLA; dev saves the
# control-plane fee.
AKS_TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"sku_tier": "Free"},
    "staging": {},
    "prod": {"private_cluster": True, "sku_tier": "Standard"},
}

# What each tier changes of MLflow's database (components/mlflow/database/), for
# TIER_DEFAULTS[tier]["mlflow"]["database"] (merged in below): prod
# survives a zone's loss (Multi-AZ; three CloudNativePG instances), keeps two weeks of
# point-in-time recovery, and cannot be deleted without a deliberate change and a final
# snapshot.
MLFLOW_DATABASE_TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"rds": {"instance_class": "db.t4g.small", "backup_retention_days": 1}},
    "staging": {
        "rds": {"instance_class": "db.t4g.medium", "backup_retention_days": 7},
        "cloudnative_pg": {"instances": 2, "storage_size_gib": 20},
    },
    "prod": {
        "rds": {
            "instance_class": "db.m7g.large",
            "allocated_storage_gib": 100,
            "max_allocated_storage_gib": 500,
            "backup_retention_days": 14,
            "multi_az": True,
            "deletion_protection": True,
            "final_snapshot": True,
            "monitoring_interval_s": 60,
        },
        "cloudnative_pg": {
            "instances": 3,
            "storage_size_gib": 50,
            "resources": {"cpu_request": "500m", "memory_request": "1Gi", "memory_limit": "2Gi"},
        },
    },
}

# MLflow's settings per tier carry its database's.
for _tier, _database in MLFLOW_DATABASE_TIER_DEFAULTS.items():
    TIER_DEFAULTS[_tier]["mlflow"] = {
        **TIER_DEFAULTS[_tier].get("mlflow", {}),
        "database": _database,
    }
