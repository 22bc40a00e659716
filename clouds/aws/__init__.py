"""The AWS target's components: network, EKS cluster, node pools, workload roles, S3."""
