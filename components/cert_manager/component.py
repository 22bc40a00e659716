"""cert-manager: issues and renews the platform's TLS certificates from one ClusterIssuer.

Installs the six CRDs from the pinned release as their own stage, then the `cert-manager`
chart with its CRD templates off (`crds.enabled: false`), the image tags set to the release
(the chart in git says v0.0.0), restricted pods with resources. Then the ClusterIssuer the
environment chooses (`issuer`):

- `self-signed-ca`: a self-signed ClusterIssuer that signs one CA Certificate (its key
  stays in a Secret in cert-manager's namespace), and a CA ClusterIssuer over that Secret;
- `acme`: an ACME ClusterIssuer (Let's Encrypt by default) with a DNS-01 or HTTP-01 solver;
- `private-ca`: a CA ClusterIssuer over an existing Secret holding the organisation's CA.

When monitoring is deployed, the chart's ServiceMonitor for the controller is on.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.cert_manager.args import ISTIO_INGRESS_CLASS, CertManagerArgs
from components.chart_component import ChartComponent, ChartRelease, CrdRelease, release_values
from components.cluster import Cluster
from components.monitoring import MonitoringStack

CRD_FILES = (
    "acme.cert-manager.io_challenges.yaml",
    "acme.cert-manager.io_orders.yaml",
    "cert-manager.io_certificaterequests.yaml",
    "cert-manager.io_certificates.yaml",
    "cert-manager.io_clusterissuers.yaml",
    "cert-manager.io_issuers.yaml",
)
API_VERSION = "cert-manager.io/v1"
# The self-signed CA's lifetime: long enough that clients trusting it are not re-issued the
# CA often, renewed by cert-manager a month before it ends.
CA_DURATION = "8760h"
CA_RENEW_BEFORE = "720h"
POD_UID = 10001


class CertManager(ChartComponent):
    """cert-manager, its CRDs, and the cluster issuer certificates name (`cluster_issuer`)."""

    def __init__(
        self,
        name: str,
        args: CertManagerArgs,
        *,
        cluster: Cluster,
        monitoring: MonitoringStack | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "plinth:security:CertManager",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="restricted",
            crds=CrdRelease(versions.CERT_MANAGER_CRD_BASE, CRD_FILES),
            opts=opts,
        )
        [self.chart] = self.install_charts(
            [
                ChartRelease(
                    name,
                    "cert-manager",
                    versions.CERT_MANAGER_CHART,
                    versions.CERT_MANAGER_CHART_REPO,
                    chart_values(args, cluster, scraped=monitoring is not None),
                )
            ],
            depends_on=monitoring.crds if monitoring is not None else (),
        )
        self.cluster_issuer = args.issuer_name
        """The ClusterIssuer's name, for Certificates' issuerRef."""
        self.issuer = self._cluster_issuer(name, args)
        """The ClusterIssuer resource: a Certificate waits for it."""
        self.register_outputs({"namespace": args.namespace, "cluster_issuer": args.issuer_name})

    def _custom(
        self, resource_name: str, kind: str, name: str, spec: dict[str, Any], *needs: Any
    ) -> k8s.apiextensions.CustomResource:
        namespace = self.namespace_name if kind == "Certificate" else None
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=API_VERSION,
            kind=kind,
            metadata=self.cluster.metadata(name, namespace),
            spec=spec,
            opts=pulumi.ResourceOptions.merge(
                self.cluster.resource_options(self),
                pulumi.ResourceOptions(depends_on=[self.chart, *self.crds, *needs]),
            ),
        )

    def _cluster_issuer(self, name: str, args: CertManagerArgs) -> pulumi.Resource:
        issuer = args.issuer_name
        if args.issuer == "acme":
            acme = args.acme
            if acme.solver == "dns01":
                solver: dict[str, Any] = {"dns01": acme.dns01}
            else:
                solver = {"http01": {"ingress": {"ingressClassName": ISTIO_INGRESS_CLASS}}}
            spec = {
                "acme": {
                    "server": acme.server,
                    "email": acme.email,
                    "privateKeySecretRef": {"name": f"{issuer}-acme-account"},
                    "solvers": [solver],
                }
            }
            return self._custom(f"{name}-issuer", "ClusterIssuer", issuer, spec)
        if args.issuer == "private-ca":
            spec = {"ca": {"secretName": args.private_ca.secret_name}}
            return self._custom(f"{name}-issuer", "ClusterIssuer", issuer, spec)
        self_signed = self._custom(
            f"{name}-selfsigned-issuer", "ClusterIssuer", f"{issuer}-selfsigned", {"selfSigned": {}}
        )
        ca = self._custom(
            f"{name}-ca",
            "Certificate",
            f"{issuer}-ca",
            {
                "isCA": True,
                "commonName": f"{issuer} CA",
                "secretName": f"{issuer}-ca",
                "duration": CA_DURATION,
                "renewBefore": CA_RENEW_BEFORE,
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {
                    "name": f"{issuer}-selfsigned",
                    "kind": "ClusterIssuer",
                    "group": "cert-manager.io",
                },
            },
            self_signed,
        )
        return self._custom(
            f"{name}-issuer", "ClusterIssuer", issuer, {"ca": {"secretName": f"{issuer}-ca"}}, ca
        )


def chart_values(args: CertManagerArgs, cluster: Cluster, *, scraped: bool) -> dict[str, Any]:
    """The chart values Plinth renders from the typed options, with `values_override` on top."""
    tag = {"tag": versions.CERT_MANAGER_IMAGE_TAG}
    # The chart's pod context (non-root, RuntimeDefault seccomp; maps merge) with a UID
    # above any host account's: the static binaries need no user of the image.
    high_uid = {"securityContext": {"runAsUser": POD_UID, "runAsGroup": POD_UID}}
    rendered: dict[str, Any] = {
        # Object names that do not depend on the release (cert-manager, cert-manager-webhook).
        "fullnameOverride": "cert-manager",
        "global": {
            "commonLabels": dict(sorted(cluster.labels.items())),
            "leaderElection": {"namespace": args.namespace},
        },
        # The CRDs are Plinth's own stage (CRD_FILES), never the chart's templates.
        "crds": {"enabled": False},
        "replicaCount": args.replicas,
        "podDisruptionBudget": {"enabled": args.replicas > 1},
        **high_uid,
        "image": tag,
        "resources": args.controller_resources.to_kubernetes(),
        "webhook": {
            "replicaCount": args.replicas,
            "podDisruptionBudget": {"enabled": args.replicas > 1},
            **high_uid,
            "image": tag,
            "resources": args.webhook_resources.to_kubernetes(),
        },
        "cainjector": {
            **high_uid,
            "image": tag,
            "resources": args.cainjector_resources.to_kubernetes(),
        },
        "acmesolver": {"image": tag},
        # A post-install hook Job: Pulumi's Chart never runs hooks (pulumi-kubernetes #3284).
        "startupapicheck": {"enabled": False},
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": scraped}},
    }
    return release_values(rendered, args.values_override, args)
