"""Settings of cert-manager (`plinth:cert_manager`) and its cluster issuer: pydantic only."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from components.args import DNS_LABEL, ChartArgs, ContainerResources, FrozenModel, OwnNamespace

IssuerKind = Literal["self-signed-ca", "acme", "private-ca"]
AcmeSolver = Literal["dns01", "http01"]
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# The ingress class of Istio's own Kubernetes Ingress controller (the ingress gateway
# serves Ingresses of this class), through which an HTTP-01 challenge is answered.
ISTIO_INGRESS_CLASS = "istio"


class AcmeIssuer(FrozenModel):
    """An ACME certificate authority (Let's Encrypt by default) and how to prove a domain."""

    server: str = Field(
        LETS_ENCRYPT,
        pattern=r"^https://",
        description="The ACME directory URL (Let's Encrypt production by default; its "
        "staging directory for tests).",
    )
    email: str | None = Field(
        None,
        pattern=EMAIL,
        description="Registered with the ACME account: expiry notices go here. Required "
        "with issuer acme.",
    )
    solver: AcmeSolver = Field(
        "dns01",
        description="'dns01': a TXT record in the domain's DNS zone (works behind an internal "
        "load balancer, and for wildcards). 'http01': a token served through the Istio "
        "ingress gateway (ingress class istio), which the ACME server must reach on port 80.",
    )
    dns01: dict[str, Any] = Field(
        default_factory=dict,
        description="The cert-manager DNS-01 provider block (route53, azureDNS, cloudDNS, "
        "cloudflare, rfc2136, ...) exactly as cert-manager's ClusterIssuer takes it under "
        "solvers[].dns01. Required with solver dns01.",
    )

    def problem(self) -> str | None:
        """What is missing or contradictory for an ACME issuer, or None."""
        if self.email is None:
            return "issuer is acme but acme.email is not set: set acme.email"
        if self.solver == "dns01" and not self.dns01:
            return (
                "acme.solver is dns01 but acme.dns01 is empty: set acme.dns01 to your DNS "
                "provider's block (e.g. route53: {region: eu-west-1}), or set acme.solver to "
                "http01"
            )
        if self.solver == "http01" and self.dns01:
            return (
                "acme.dns01 is set but acme.solver is http01: remove acme.dns01, or set "
                "acme.solver to dns01"
            )
        return None


class PrivateCaIssuer(FrozenModel):
    """An existing certificate authority whose certificate and key Plinth does not hold."""

    secret_name: str | None = Field(
        None,
        pattern=DNS_LABEL,
        description="A kubernetes.io/tls Secret in cert-manager's namespace holding the CA's "
        "tls.crt and tls.key, created before `pulumi up` (kubectl create secret tls ...). "
        "Required with issuer private-ca.",
    )


class CertManagerArgs(ChartArgs):
    """Settings of cert-manager and the cluster issuer every Plinth certificate uses."""

    namespace: OwnNamespace = Field(
        "cert-manager", pattern=DNS_LABEL, description="Namespace of cert-manager."
    )
    issuer: IssuerKind = Field(
        "self-signed-ca",
        description="'self-signed-ca': a CA certificate cert-manager makes itself (laptops, "
        "tests: clients must trust it). 'acme': a public ACME CA such as Let's Encrypt (set "
        "acme). 'private-ca': your organisation's CA from an existing Secret (set private_ca).",
    )
    issuer_name: str = Field(
        "plinth", pattern=DNS_LABEL, description="Name of the ClusterIssuer certificates use."
    )
    acme: AcmeIssuer = Field(
        default_factory=AcmeIssuer, description="The ACME issuer; only with issuer acme."
    )
    private_ca: PrivateCaIssuer = Field(
        default_factory=PrivateCaIssuer, description="The existing CA; only with issuer private-ca."
    )
    replicas: int = Field(
        1, ge=1, le=5, description="Controller and webhook replicas; above 1 they elect a leader."
    )
    controller_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(memory_request="128Mi", memory_limit="512Mi"),
        description="Controller container resources.",
    )
    webhook_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="50m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi"
        ),
        description="Webhook container resources.",
    )
    cainjector_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="50m", memory_request="128Mi", cpu_limit="500m", memory_limit="512Mi"
        ),
        description="CA injector container resources.",
    )

    @model_validator(mode="after")
    def _issuer_has_its_settings(self) -> CertManagerArgs:
        for kind, settings in (("acme", self.acme), ("private-ca", self.private_ca)):
            field = kind.replace("-", "_")
            # Settings for an issuer the environment does not use are a mistake, unless they
            # only restate the defaults.
            if self.issuer != kind and settings != type(settings)():
                raise ValueError(
                    f"{field} is set but issuer is {self.issuer}: set issuer to {kind}, or "
                    f"remove {field}"
                )
        if self.issuer == "acme" and (problem := self.acme.problem()):
            raise ValueError(problem)
        if self.issuer == "private-ca" and self.private_ca.secret_name is None:
            raise ValueError(
                "issuer is private-ca but private_ca.secret_name is not set: set it to the "
                "Secret holding your CA (in cert-manager's namespace)"
            )
        return self
