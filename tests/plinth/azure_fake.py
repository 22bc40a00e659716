"""A local stand-in for Azure Resource Manager and one Key Vault, on 127.0.0.1.

It answers the REST calls `plinth bootstrap azure` and `plinth preflight` make, with the
bodies of tests/fixtures/azure/ (shaped as Azure answers them), at the api-versions
Plinth pins, the way ARM behaves: a resource PUT is kept and later GETs return it, a
storage account PUT is a long-running operation (202 and a Location to poll), a missing
resource is a 404 with ARM's error body, an action the test denies is a 403
AuthorizationFailed naming it. Every body it serves and every body it receives is
validated against tests/plinth/azure_api.py; a request that strays from the API is
answered 400 and recorded in `violations`, which the fixtures assert is empty.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from tests.plinth import azure_api

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "azure"
SUBSCRIPTION = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
TENANT = "0a1b2c3d-4e5f-4061-8273-9485a6b7c8d9"
VAULT_PREFIX = "/vault"

Answer = tuple[int, dict[str, Any], dict[str, str]]


def recorded(fixture: str, **values: str) -> dict[str, Any]:
    """A fixture body with its {placeholders} filled in."""
    text = (FIXTURES / f"{fixture}.json").read_text()
    for placeholder, value in values.items():
        text = text.replace(f"{{{placeholder}}}", value)
    body: dict[str, Any] = json.loads(text)
    return body


@dataclass(frozen=True)
class Route:
    """One operation: method, path pattern, api-version, RBAC action, request schema."""

    method: str
    pattern: str
    api_version: str
    action: str
    handler: Callable[[FakeAzure, re.Match[str], dict[str, Any]], Answer]
    request_schema: dict[str, Any] | None = None
    response_schema: dict[str, Any] | None = None


@dataclass
class FakeAzure:
    """The fake's state: the resources created, what the tests seeded or denied, and every
    request received (method, path, body)."""

    location: str = "westeurope"
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    taken_names: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    skus: dict[str, Any] = field(default_factory=dict)
    usages: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    pending_provisioning: dict[str, int] = field(default_factory=dict)
    _operations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        filled = {"location": self.location}
        self.skus = recorded("resource_skus", **filled)
        self.usages = recorded("compute_usages", **filled)
        self.versions = recorded("kubernetes_versions", **filled)

    @property
    def vault_endpoint(self) -> str:
        """Where the Key Vault data plane of this fake answers."""
        return f"{self.url}{VAULT_PREFIX}/"

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every request that changes something."""
        return [(m, p) for m, p, _ in self.requests if m in ("PUT", "PATCH") or "/create" in p]

    def answer(self, method: str, raw_path: str, body: dict[str, Any]) -> Answer:
        """The response to one request."""
        split = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        self.requests.append((method, split.path, body))
        for route in ROUTES:
            match = re.fullmatch(route.pattern, split.path, flags=re.IGNORECASE)
            if route.method != method or match is None:
                continue
            if query.get("api-version") != route.api_version:
                return self._violation(
                    f"{method} {split.path}: api-version {query.get('api-version')}, "
                    f"not {route.api_version}"
                )
            if route.request_schema is not None:
                wrong = azure_api.problems(route.request_schema, body)
                if wrong:
                    return self._violation(f"{method} {split.path} body: {wrong}")
            if route.action in self.denied:
                return self._denied(route.action, split.path)
            status, answer, headers = route.handler(self, match, {**body, "__query": query})
            schema = route.response_schema if status < 300 else azure_api.ERROR_RESPONSE
            wrong = azure_api.problems(schema, answer) if schema and answer else []
            if wrong:
                return self._violation(f"served {method} {split.path}: {wrong}")
            return status, answer, headers
        return self._violation(f"no such operation: {method} {split.path}")

    def _violation(self, message: str) -> Answer:
        self.violations.append(message)
        return 400, {"error": {"code": "InvalidRequest", "message": message}}, {}

    def _denied(self, action: str, path: str) -> Answer:
        if path.startswith(VAULT_PREFIX):
            message = f"Caller is not authorized to perform action on resource. Action: '{action}'"
            return 403, {"error": {"code": "Forbidden", "message": message}}, {}
        return 403, recorded("error_authorization_failed", action=action, scope=path), {}

    def not_found(self, code: str, kind: str, name: str) -> Answer:
        """ARM's 404 for a resource (ResourceNotFound) or group (ResourceGroupNotFound)."""
        body = recorded("error_not_found", code=code, type=kind, name=name, resource_group=name)
        return 404, body, {}

    def names(self, match: re.Match[str]) -> dict[str, str]:
        """The placeholders of a resource's fixture, from its path."""
        found = {k: v for k, v in match.groupdict().items() if v}
        return {
            "subscription": SUBSCRIPTION,
            "tenant": TENANT,
            "location": self.location,
            **found,
        }

    def start_operation(self, path: str) -> dict[str, str]:
        """A long-running operation on `path` whose status URL answers 202 once, then
        the resource (ARM's Location pattern)."""
        operation = (
            f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Storage/operations/"
            f"op{len(self._operations)}"
        )
        self._operations[operation.lower()] = {"pending": 1, "target": path}
        return {"Location": f"{self.url}{operation}?api-version=2025-01-01", "Retry-After": "0"}

    def poll(self, operation: str) -> Answer:
        """The status URL of an operation: 202 while running, then the resource."""
        state = self._operations.get(operation.lower())
        if state is None:
            return 404, {"error": {"code": "NotFound", "message": operation}}, {}
        if state["pending"]:
            state["pending"] -= 1
            return 202, {}, {"Retry-After": "0"}
        return 200, copy.deepcopy(self.resources[state["target"]]), {}


# Handlers: each takes the fake, the path's match and the request body (with __query).


def _subscription(fake: FakeAzure, match: re.Match[str], _: dict[str, Any]) -> Answer:
    return 200, recorded("subscription", **fake.names(match)), {}


def _get(kind: str, code: str = "ResourceNotFound") -> Callable[..., Answer]:
    def handler(fake: FakeAzure, match: re.Match[str], _: dict[str, Any]) -> Answer:
        path = match.group(0).lower()
        found = fake.resources.get(path)
        if found is None:
            return fake.not_found(code, kind, match.group("name"))
        answer = copy.deepcopy(found)
        if fake.pending_provisioning.get(path):
            fake.pending_provisioning[path] -= 1
            answer["properties"]["provisioningState"] = "RegisteringDns"
        return 200, answer, {}

    return handler


def _put(fixture: str, *, long_running: bool = False) -> Callable[..., Answer]:
    """Create or replace: the fixture's resource with the request's settings on top."""

    def handler(fake: FakeAzure, match: re.Match[str], body: dict[str, Any]) -> Answer:
        body = {k: v for k, v in body.items() if k != "__query"}
        path = match.group(0).lower()
        current = fake.resources.get(path) or recorded(fixture, **fake.names(match))
        resource = _merged(current, body)
        fake.resources[path] = resource
        if long_running:
            return 202, {}, fake.start_operation(path)
        return 200, copy.deepcopy(resource), {}

    return handler


def _put_vault(fake: FakeAzure, match: re.Match[str], body: dict[str, Any]) -> Answer:
    """A vault PUT as Key Vault answers it: at once, while the vault's DNS name is still
    being registered; the GET after it says so too, the next one Succeeded."""
    created = fake.resources.get(match.group(0).lower()) is None
    status, answer, headers = _put("vault")(fake, match, body)
    if created:
        answer["properties"]["provisioningState"] = "RegisteringDns"
        fake.pending_provisioning[match.group(0).lower()] = 1
    return status, answer, headers


def _patch(fake: FakeAzure, match: re.Match[str], body: dict[str, Any]) -> Answer:
    path = match.group(0).lower()
    if path not in fake.resources:
        return fake.not_found("ResourceNotFound", "resource", match.group("name"))
    body = {k: v for k, v in body.items() if k != "__query"}
    fake.resources[path] = _merged(fake.resources[path], body)
    return 200, copy.deepcopy(fake.resources[path]), {}


def _merged(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(current)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _name_available(fake: FakeAzure, _: re.Match[str], body: dict[str, Any]) -> Answer:
    if body["name"] in fake.taken_names:
        message = f"The storage account named {body['name']} is already taken."
        return 200, {"nameAvailable": False, "reason": "AlreadyExists", "message": message}, {}
    return 200, {"nameAvailable": True}, {}


def _blob_service(fake: FakeAzure, match: re.Match[str], _: dict[str, Any]) -> Answer:
    path = match.group(0).lower()
    if path not in fake.resources:
        fake.resources[path] = recorded("blob_service", **fake.names(match))
    return 200, copy.deepcopy(fake.resources[path]), {}


def _operation(fake: FakeAzure, match: re.Match[str], _: dict[str, Any]) -> Answer:
    return fake.poll(match.group(0))


def _get_key(fake: FakeAzure, match: re.Match[str], _: dict[str, Any]) -> Answer:
    key = fake.keys.get(match.group("key"))
    if key is None:
        return 404, recorded("error_key_not_found", key=match.group("key")), {}
    return 200, copy.deepcopy(key), {}


def _create_key(fake: FakeAzure, match: re.Match[str], body: dict[str, Any]) -> Answer:
    name = match.group("key")
    vaults = [path for path in fake.resources if "/microsoft.keyvault/vaults/" in path]
    vault = vaults[-1].rsplit("/", 1)[1] if vaults else "vault"
    bundle = recorded("key_bundle", vault=vault, key=name, key_version=f"v{len(fake.keys) + 1}")
    bundle["key"]["key_ops"] = body.get("key_ops", [])
    bundle["tags"] = body.get("tags", {})
    fake.keys[name] = bundle
    return 200, copy.deepcopy(bundle), {}


def _skus(fake: FakeAzure, _: re.Match[str], body: dict[str, Any]) -> Answer:
    """Resource SKUs in two pages, as ARM pages them (the filter names the location)."""
    query = body["__query"]
    if query.get("$filter") != f"location eq '{fake.location}'":
        return 400, {"error": {"code": "InvalidFilter", "message": str(query)}}, {}
    items = fake.skus["value"]
    half = len(items) // 2
    if query.get("$skiptoken") == "page2":
        return 200, {"value": items[half:]}, {}
    path = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Compute/skus"
    next_link = (
        f"{fake.url}{path}?api-version=2021-07-01&$filter=location eq '{fake.location}'"
        "&$skiptoken=page2"
    ).replace(" ", "%20")
    return 200, {"value": items[:half], "nextLink": next_link}, {}


def _usages(fake: FakeAzure, match: re.Match[str], _: dict[str, Any]) -> Answer:
    if match.group("location") != fake.location:
        return 200, {"value": []}, {}
    return 200, copy.deepcopy(fake.usages), {}


def _versions(fake: FakeAzure, match: re.Match[str], _: dict[str, Any]) -> Answer:
    if match.group("location") != fake.location:
        return 200, {"values": []}, {}
    return 200, copy.deepcopy(fake.versions), {}


_SUB = rf"/subscriptions/{SUBSCRIPTION}"
_GROUP = rf"{_SUB}/resourcegroups/(?P<resource_group>[^/]+)"
_ACCOUNT = rf"{_GROUP}/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)"
_VAULT = rf"{_GROUP}/providers/Microsoft\.KeyVault/vaults/(?P<vault>[^/]+)"
_KEY = rf"{VAULT_PREFIX}/keys/(?P<key>[^/]+)"
_STORAGE_API, _VAULT_API, _KEYS_API = "2025-01-01", "2024-11-01", "7.5"
A = azure_api
ROUTES = (
    Route("GET", _SUB, "2022-12-01", "Microsoft.Resources/subscriptions/read", _subscription,
          response_schema=A.SUBSCRIPTION),
    Route("GET", rf"{_SUB}/resourcegroups/(?P<name>[^/]+)", "2021-04-01",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          _get("Microsoft.Resources/resourceGroups", "ResourceGroupNotFound"),
          response_schema=A.RESOURCE_GROUP),
    Route("PUT", rf"{_SUB}/resourcegroups/(?P<resource_group>[^/]+)", "2021-04-01",
          "Microsoft.Resources/subscriptions/resourceGroups/write", _put("resource_group"),
          A.RESOURCE_GROUP, A.RESOURCE_GROUP),
    Route("POST", rf"{_SUB}/providers/Microsoft\.Storage/checkNameAvailability", _STORAGE_API,
          "Microsoft.Storage/checknameavailability/read", _name_available,
          A.NAME_AVAILABILITY_REQUEST, A.NAME_AVAILABILITY),
    Route("GET", rf"{_SUB}/providers/Microsoft\.Storage/operations/[^/]+", _STORAGE_API,
          "Microsoft.Storage/storageAccounts/write", _operation),
    Route("GET", rf"{_GROUP}/providers/Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)",
          _STORAGE_API, "Microsoft.Storage/storageAccounts/read",
          _get("Microsoft.Storage/storageAccounts"), response_schema=A.STORAGE_ACCOUNT),
    Route("PUT", _ACCOUNT, _STORAGE_API, "Microsoft.Storage/storageAccounts/write",
          _put("storage_account", long_running=True), A.STORAGE_ACCOUNT_CREATE),
    Route("PATCH", rf"{_GROUP}/providers/Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)",
          _STORAGE_API, "Microsoft.Storage/storageAccounts/write", _patch,
          A.STORAGE_ACCOUNT_UPDATE, A.STORAGE_ACCOUNT),
    Route("GET", rf"{_ACCOUNT}/blobServices/default", _STORAGE_API,
          "Microsoft.Storage/storageAccounts/blobServices/read", _blob_service,
          response_schema=A.BLOB_SERVICE),
    Route("PUT", rf"{_ACCOUNT}/blobServices/default", _STORAGE_API,
          "Microsoft.Storage/storageAccounts/blobServices/write", _put("blob_service"),
          A.BLOB_SERVICE, A.BLOB_SERVICE),
    Route("POST", rf"{_SUB}/providers/Microsoft\.KeyVault/checkNameAvailability", _VAULT_API,
          "Microsoft.KeyVault/checkNameAvailability/read", _name_available,
          A.NAME_AVAILABILITY_REQUEST, A.NAME_AVAILABILITY),
    Route("GET", rf"{_GROUP}/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)", _VAULT_API,
          "Microsoft.KeyVault/vaults/read", _get("Microsoft.KeyVault/vaults"),
          response_schema=A.VAULT),
    Route("PUT", _VAULT, _VAULT_API, "Microsoft.KeyVault/vaults/write", _put_vault,
          A.VAULT_CREATE, A.VAULT),
    Route("PATCH", rf"{_GROUP}/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)",
          _VAULT_API, "Microsoft.KeyVault/vaults/write", _patch, A.VAULT_PATCH, A.VAULT),
    Route("GET", _KEY, _KEYS_API, "Microsoft.KeyVault/vaults/keys/read", _get_key,
          response_schema=A.KEY_BUNDLE),
    Route("POST", rf"{_KEY}/create", _KEYS_API, "Microsoft.KeyVault/vaults/keys/create/action",
          _create_key, A.KEY_CREATE, A.KEY_BUNDLE),
    Route("GET", rf"{_SUB}/providers/Microsoft\.Compute/skus", "2021-07-01",
          "Microsoft.Compute/skus/read", _skus, response_schema=A.RESOURCE_SKUS),
    Route("GET", rf"{_SUB}/providers/Microsoft\.Compute/locations/(?P<location>[^/]+)/usages",
          "2024-11-01", "Microsoft.Compute/locations/usages/read", _usages,
          response_schema=A.COMPUTE_USAGES),
    Route("GET",
          rf"{_SUB}/providers/Microsoft\.ContainerService/locations/(?P<location>[^/]+)/kubernetesVersions",
          "2025-07-01", "Microsoft.ContainerService/locations/kubernetesVersions/read", _versions,
          response_schema=A.KUBERNETES_VERSIONS),
)  # fmt: skip


class Answering(Protocol):
    """What `serving` serves: a base URL it is told, and an answer per request."""

    url: str

    def answer(self, method: str, raw_path: str, body: dict[str, Any]) -> Answer:
        """(status, body, headers) for one request."""
        ...


Server = TypeVar("Server", bound=Answering)


class _Handler(BaseHTTPRequestHandler):
    fake: Answering

    def _serve(self) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            self._send(401, {"error": {"code": "AuthenticationFailed", "message": "no token"}}, {})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        self._send(*self.fake.answer(self.command, self.path, body))

    # http.server calls do_<METHOD>.
    do_GET = do_PUT = do_PATCH = do_POST = _serve  # noqa: N815

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode() if body else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the requests through `fake.requests` when a test fails."""


@contextmanager
def serving(fake: Server) -> Iterator[Server]:
    """`fake` answering on a free port of 127.0.0.1 until the block ends."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FakeCredential:
    """A token source standing in for DefaultAzureCredential: every scope asked is kept."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str) -> Any:
        """A fixed token object with `.token`, as azure-identity's AccessToken has."""
        self.scopes.extend(scopes)
        return type("AccessToken", (), {"token": "fake-token", "expires_on": 2**31})()
