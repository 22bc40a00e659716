"""Rules over Kubernetes objects: pods of every kind, namespaces, Services, Helm charts, GPUs.

Pod rules find pods with `pod_specs` (every kind that creates one, custom resources
included) and skip the workloads named in a rule's `exemptWorkloads` (`exemptions`).
"""
