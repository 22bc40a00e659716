"""Azure access for the commands that talk to Azure (`plinth bootstrap azure`, `plinth
preflight` on an aks environment).

The management plane (Azure Resource Manager) and the Key Vault keys API are called as
plain REST, with the api-version of every call written next to it: the management SDKs
(azure-mgmt-*) weigh hundreds of megabytes, pick their api-versions by release, and would
be imported for six GETs and four PUTs. Tokens come from azure-identity's
DefaultAzureCredential (environment, workload identity, managed identity, `az login`),
made when a command runs, never at import; this module imports only the standard library,
so the CLI can name its errors without loading an Azure SDK.

Every Azure failure becomes one line saying what to do: a missing permission names the
Azure RBAC action and lists every action the command needs.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

MANAGEMENT_ENDPOINT = "https://management.azure.com"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
KEY_VAULT_SCOPE = "https://vault.azure.net/.default"
HOW_TO_PROVIDE_CREDENTIALS = (
    "run `az login` (and `az account set --subscription ...`), or set AZURE_TENANT_ID, "
    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or run where a managed or workload identity "
    "is attached"
)
# ARM's codes for a caller that lacks a role (403), and for a token it refuses (401).
DENIED_CODES = frozenset({"AuthorizationFailed", "Forbidden", "LinkedAuthorizationFailed"})
REJECTED_TOKEN_CODES = frozenset(
    {"InvalidAuthenticationToken", "ExpiredAuthenticationToken", "InvalidAuthenticationTokenTenant"}
)
# Long-running operations: how long to wait at most, and between two polls by default.
LRO_TIMEOUT_S = 600.0
LRO_DEFAULT_INTERVAL_S = 5.0
REQUEST_TIMEOUT_S = 60.0


class AzureError(Exception):
    """A problem the user fixes outside Plinth (credentials, a role, a name already taken);
    the message is one line and says what to change."""


class AzureServiceError(Exception):
    """Azure failed for a reason that is not the user's input (outage, throttling, network)."""


class TokenSource(Protocol):
    """What azure-identity's credentials offer: `get_token(scope).token`."""

    def get_token(self, *scopes: str) -> Any:
        """An access token for `scopes`."""
        ...


class AzureRequestError(Exception):
    """An HTTP error answer of an Azure REST API: its status, error code and message, and
    the RBAC action the request needed."""

    def __init__(self, status: int, code: str, message: str, action: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.action = action


def default_credential() -> TokenSource:
    """azure-identity's DefaultAzureCredential; imported here, when a command needs it."""
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415

    credential: TokenSource = DefaultAzureCredential()
    return credential


@dataclass
class RestClient:
    """JSON over HTTPS to one Azure REST endpoint with bearer tokens for `scope`.

    `endpoint` is Azure's public cloud by default; tests point it at a local server.
    """

    credential: TokenSource
    endpoint: str = MANAGEMENT_ENDPOINT
    scope: str = MANAGEMENT_SCOPE
    poll_interval_s: float = LRO_DEFAULT_INTERVAL_S
    _token: str | None = field(default=None, repr=False)

    def get(self, path: str, api_version: str, action: str) -> dict[str, Any] | None:
        """The resource at `path`, or None when Azure answers 404."""
        try:
            return self.call("GET", path, api_version, action)
        except AzureRequestError as error:
            if error.status == 404:
                return None
            raise

    def call(
        self,
        method: str,
        path: str,
        api_version: str,
        action: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request; a long-running operation (201/202 with a status URL) is followed
        until it ends, and the final resource returned."""
        url = self._url(path, {"api-version": api_version, **(query or {})})
        status, headers, answer = self._send(method, url, action, body)
        poll = headers.get("azure-asyncoperation") or headers.get("location")
        if status in (201, 202) and poll:
            return self._wait(method, url, poll, headers, action) or answer
        return answer

    def pages(
        self, path: str, api_version: str, action: str, query: Mapping[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list operation, following `nextLink`."""
        url: str | None = self._url(path, {"api-version": api_version, **(query or {})})
        while url:
            _, _, page = self._send("GET", url, action, None)
            yield from page.get("value", [])
            url = page.get("nextLink") or None

    def _url(self, path: str, query: Mapping[str, str]) -> str:
        # Spaces as %20, as Azure's own SDKs send them (`$filter=location eq '...'`).
        encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        return f"{self.endpoint.rstrip('/')}{path}?{encoded}"

    def _wait(
        self, method: str, url: str, poll: str, headers: Mapping[str, str], action: str
    ) -> dict[str, Any] | None:
        """Poll an operation's status URL until it succeeds; then, for a PUT or PATCH, the
        resource itself (ARM's documented pattern for long-running operations)."""
        deadline = time.monotonic() + LRO_TIMEOUT_S
        async_operation = "azure-asyncoperation" in headers
        while time.monotonic() < deadline:
            time.sleep(_retry_after(headers, self.poll_interval_s))
            status, headers, answer = self._send("GET", poll, action, None)
            if status == 202:
                continue
            state = str(answer.get("status", "Succeeded")) if async_operation else "Succeeded"
            if state in ("Failed", "Canceled"):
                error = answer.get("error", {})
                raise AzureRequestError(
                    200, str(error.get("code", state)), str(error.get("message", "")), action
                )
            if state == "Succeeded":
                if method in ("PUT", "PATCH") and (async_operation or not answer):
                    return self._send("GET", url, action, None)[2]
                return answer
        raise AzureServiceError(f"Azure operation {action} did not finish in {LRO_TIMEOUT_S:g} s")

    def _send(
        self, method: str, url: str, action: str, body: Mapping[str, Any] | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        data = None if body is None else json.dumps(body, sort_keys=True).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (https or a test's loopback)
        request.add_header("Authorization", f"Bearer {self._bearer()}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
                return response.status, _lower(response.headers), _json(response.read())
        except urllib.error.HTTPError as answer:
            raise _request_error(answer.code, _json(answer.read()), action) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise AzureServiceError(f"cannot reach {_host(url)}: {error}") from None

    def _bearer(self) -> str:
        if self._token is None:
            self._token = str(self.credential.get_token(self.scope).token)
        return self._token


def _lower(headers: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def _json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"error": {"code": "NotJson", "message": raw[:200].decode(errors="replace")}}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def _retry_after(headers: Mapping[str, str], default: float) -> float:
    try:
        return min(float(headers.get("retry-after", default)), 60.0)
    except ValueError:
        return default


def _request_error(status: int, answer: Mapping[str, Any], action: str) -> AzureRequestError:
    """The error of an Azure answer: ARM and Key Vault both say {"error": {"code", ...}}."""
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    assert isinstance(error, dict)  # noqa: S101 (narrowing for the type checker)
    message = str(error.get("message", "")).replace("\n", " ")
    return AzureRequestError(status, str(error.get("code", status)), message, action)


@contextmanager
def explained_errors(command: str, actions: Mapping[str, str]) -> Iterator[None]:
    """Turn Azure failures inside the block into AzureError / AzureServiceError with one-line
    messages. `actions` maps each step's RBAC action to what it is for; the message of a
    denied call lists them all."""
    # azure-identity's "no credential" errors and azure-core's refused tokens, then any
    # other failure of an Azure SDK call (network, service).
    from azure.core.exceptions import AzureError as SdkError  # noqa: PLC0415
    from azure.core.exceptions import ClientAuthenticationError  # noqa: PLC0415

    try:
        yield
    except ClientAuthenticationError as error:
        raise AzureError(
            f"Azure credentials: {_first_line(error)}; {HOW_TO_PROVIDE_CREDENTIALS}"
        ) from None
    except AzureRequestError as error:
        raise explain(error, command, actions) from None
    except SdkError as error:
        raise AzureServiceError(f"{command}: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def explain(error: AzureRequestError, command: str, actions: Mapping[str, str]) -> Exception:
    """One line for a failed Azure request: what to grant, or what Azure said."""
    if error.status == 403 or error.code in DENIED_CODES:
        needed = ", ".join(sorted(actions))
        return AzureError(
            f"{command}: Azure denied {error.action} ({error.code}): grant a role with it to "
            f"the identity running plinth; {command} needs {needed}"
        )
    if error.status == 401 or error.code in REJECTED_TOKEN_CODES:
        return AzureError(
            f"{command}: Azure rejected the token ({error.code}): {HOW_TO_PROVIDE_CREDENTIALS}"
        )
    if error.code in ("SubscriptionNotFound", "InvalidSubscriptionId"):
        return AzureError(f"{command}: {error.message} (check --subscription / subscription_id)")
    return AzureServiceError(f"{command}: Azure {error.action} failed: {error}")
