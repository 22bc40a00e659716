"""Who talks to whom at run time, read from the Kubernetes objects of a plan.

`plinth graph` draws these beside the resource dependencies:

- scrapes: Prometheus (the component that deploys a `Prometheus` object) scrapes each
  Service a ServiceMonitor selects and each pod (of a Deployment, StatefulSet, DaemonSet or
  Job template) a PodMonitor selects, in the namespaces the monitor selects
  (`namespaceSelector.any`, `matchNames`, else the monitor's own namespace);
- routes: the gateway (the component that deploys the Istio `Gateway` a VirtualService
  names, or the Gateway API `Gateway` an HTTPRoute's `parentRefs` name; else the route's
  own component) sends traffic to each Service a route's destinations name: an Istio
  VirtualService's `spec.http[].route[].destination.host` (short, `name.namespace` or the
  full `.svc.cluster.local` name, short names in the route's namespace), a Gateway API
  HTTPRoute's `spec.rules[].backendRefs[]` (kind Service, the default).

Every function takes plan entries and returns (source URN, target URN, kind) triples:
the URNs of the objects at each end, which the graph maps to their components.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCRAPES = "scrapes"
ROUTES = "routes"
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet")
CLUSTER_DOMAIN = "svc.cluster.local"


@dataclass(frozen=True)
class KubeObject:
    """A Kubernetes object of the plan and the URN of its entry."""

    urn: str
    kind: str
    name: str
    namespace: str
    body: Mapping[str, Any]

    @property
    def labels(self) -> Mapping[str, str]:
        return _mapping(_mapping(self.body.get("metadata")).get("labels"))

    def spec(self, *keys: str) -> Any:
        value: Any = self.body.get("spec")
        for key in keys:
            value = _mapping(value).get(key)
        return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def kube_objects(entries: Sequence[Mapping[str, Any]]) -> list[KubeObject]:
    """The plan's Kubernetes objects (a namespace-less object is in `default`)."""
    found = []
    for entry in entries:
        inputs = _mapping(entry.get("inputs"))
        if not str(entry.get("type", "")).startswith("kubernetes:") or "kind" not in inputs:
            continue
        metadata = _mapping(inputs.get("metadata"))
        found.append(
            KubeObject(
                urn=str(entry["urn"]),
                kind=str(inputs["kind"]),
                name=str(metadata.get("name", "")),
                namespace=str(metadata.get("namespace") or "default"),
                body=inputs,
            )
        )
    return found


def selects(selector: Any, labels: Mapping[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions with In, NotIn,
    Exists, DoesNotExist) selects `labels`. An empty selector selects everything."""
    selector = _mapping(selector)
    for label, value in _mapping(selector.get("matchLabels")).items():
        if labels.get(label) != value:
            return False
    for item in _list(selector.get("matchExpressions")):
        expression = _mapping(item)
        key, operator = str(expression.get("key")), expression.get("operator")
        values = _list(expression.get("values"))
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _monitored_namespaces(monitor: KubeObject) -> set[str] | None:
    """The namespaces a monitor selects; None for every namespace."""
    selector = _mapping(monitor.spec("namespaceSelector"))
    if selector.get("any") is True:
        return None
    names = {str(name) for name in _list(selector.get("matchNames"))}
    return names or {monitor.namespace}


def _pod_templates(objects: Sequence[KubeObject]) -> Iterator[tuple[KubeObject, Mapping[str, str]]]:
    for obj in objects:
        if obj.kind in POD_TEMPLATE_KINDS:
            template = _mapping(obj.spec("template"))
            yield obj, _mapping(_mapping(template.get("metadata")).get("labels"))
        elif obj.kind == "Pod":
            yield obj, obj.labels


def scrape_edges(entries: Sequence[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """(Prometheus, scraped Service or workload, "scrapes") for every monitor's targets."""
    objects = kube_objects(entries)
    scrapers = [obj.urn for obj in objects if obj.kind == "Prometheus"]
    services = [obj for obj in objects if obj.kind == "Service"]
    pods = list(_pod_templates(objects))
    edges: set[tuple[str, str, str]] = set()
    for monitor in objects:
        if monitor.kind not in ("ServiceMonitor", "PodMonitor"):
            continue
        namespaces = _monitored_namespaces(monitor)
        selector = monitor.spec("selector")
        if monitor.kind == "ServiceMonitor":
            candidates = [(service, service.labels) for service in services]
        else:
            candidates = pods
        for target, labels in candidates:
            in_scope = namespaces is None or target.namespace in namespaces
            if in_scope and selects(selector, labels):
                sources = scrapers or [monitor.urn]
                edges.update((source, target.urn, SCRAPES) for source in sources)
    return edges


def _service_by_host(
    services: Sequence[KubeObject], host: str, route_namespace: str
) -> KubeObject | None:
    """The Service an Istio destination host names (short names in the route's namespace)."""
    parts = host.removesuffix(f".{CLUSTER_DOMAIN}").split(".")
    name, namespace = parts[0], parts[1] if len(parts) > 1 else route_namespace
    return next((s for s in services if (s.name, s.namespace) == (name, namespace)), None)


def _gateway(objects: Sequence[KubeObject], reference: str, namespace: str) -> KubeObject | None:
    """The Gateway a route names, `name` or `namespace/name`."""
    gateway_namespace, _, name = reference.rpartition("/")
    wanted = (name, gateway_namespace or namespace)
    return next(
        (o for o in objects if o.kind == "Gateway" and (o.name, o.namespace) == wanted), None
    )


def _virtual_service_targets(
    route: KubeObject, services: Sequence[KubeObject]
) -> Iterator[KubeObject]:
    for http in _list(route.spec("http")):
        for destination in _list(_mapping(http).get("route")):
            host = _mapping(_mapping(destination).get("destination")).get("host")
            service = _service_by_host(services, str(host or ""), route.namespace)
            if service is not None:
                yield service


def _http_route_targets(route: KubeObject, services: Sequence[KubeObject]) -> Iterator[KubeObject]:
    for rule in _list(route.spec("rules")):
        for reference in _list(_mapping(rule).get("backendRefs")):
            backend = _mapping(reference)
            if backend.get("kind", "Service") != "Service":
                continue
            wanted = (str(backend.get("name")), str(backend.get("namespace") or route.namespace))
            yield from (s for s in services if (s.name, s.namespace) == wanted)


def route_edges(entries: Sequence[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """(gateway or route, Service it sends to, "routes") for every route's destinations."""
    objects = kube_objects(entries)
    services = [obj for obj in objects if obj.kind == "Service"]
    edges: set[tuple[str, str, str]] = set()
    for route in objects:
        if route.kind == "VirtualService":
            references = [str(g) for g in _list(route.spec("gateways"))]
            targets = list(_virtual_service_targets(route, services))
        elif route.kind == "HTTPRoute":
            references = [
                f"{_mapping(p).get('namespace') or route.namespace}/{_mapping(p).get('name')}"
                for p in _list(route.spec("parentRefs"))
            ]
            targets = list(_http_route_targets(route, services))
        else:
            continue
        gateways = [_gateway(objects, ref, route.namespace) for ref in references]
        sources = [g.urn for g in gateways if g is not None] or [route.urn]
        edges.update((source, target.urn, ROUTES) for source in sources for target in targets)
    return edges


def traffic_edges(entries: Sequence[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """Every scrape and route edge of the plan, by object URN."""
    return scrape_edges(entries) | route_edges(entries)
