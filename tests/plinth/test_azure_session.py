"""plinth/azure_session.py against a scripted local server: Azure-AsyncOperation polling
(ARM's other long-running operation pattern), its failure, and how answers become
one-line errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from plinth.azure_session import (
    AzureError,
    AzureRequestError,
    AzureServiceError,
    RestClient,
    explain,
)
from tests.plinth.azure_fake import FakeCredential

Scripted = tuple[int, dict[str, Any], dict[str, str]]


class Script:
    """Answers by path, in order; every request is kept."""

    def __init__(self, answers: dict[str, list[Scripted]]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str]] = []
        self.url = ""

    def next(self, method: str, path: str) -> Scripted:
        self.seen.append((method, path))
        status, body, headers = self.answers[path.split("?", maxsplit=1)[0]].pop(0)
        return status, body, {k: v.replace("{url}", self.url) for k, v in headers.items()}


@pytest.fixture
def script() -> Iterator[Script]:
    scripted = Script({})

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, body, headers = scripted.next(self.command, self.path)
            data = json.dumps(body).encode() if body else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _serve  # noqa: N815 (http.server's names)

        def log_message(self, *_: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scripted.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield scripted
    server.shutdown()
    server.server_close()


RESOURCE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Example/things/t"
OPERATION = "/subscriptions/s/providers/Microsoft.Example/operations/1"
ASYNC = {"Azure-AsyncOperation": "{url}" + OPERATION, "Retry-After": "0"}


def client(script: Script) -> RestClient:
    return RestClient(FakeCredential(), endpoint=script.url, poll_interval_s=0)


def test_an_async_operation_is_polled_until_it_succeeds_then_the_resource_read(
    script: Script,
) -> None:
    script.answers = {
        RESOURCE: [(201, {"name": "t"}, ASYNC), (200, {"name": "t", "state": "done"}, {})],
        OPERATION: [(200, {"status": "InProgress"}, {}), (200, {"status": "Succeeded"}, {})],
    }
    answer = client(script).call("PUT", RESOURCE, "2025-01-01", "write", body={"a": 1})
    assert answer == {"name": "t", "state": "done"}
    assert [(m, p.split("?")[0]) for m, p in script.seen] == [
        ("PUT", RESOURCE),
        ("GET", OPERATION),
        ("GET", OPERATION),
        ("GET", RESOURCE),
    ]


def test_a_failed_async_operation_raises_its_error_code(script: Script) -> None:
    failed = {"status": "Failed", "error": {"code": "QuotaExceeded", "message": "no room"}}
    script.answers = {RESOURCE: [(202, {}, ASYNC)], OPERATION: [(200, failed, {})]}
    with pytest.raises(AzureRequestError) as raised:
        client(script).call("PUT", RESOURCE, "2025-01-01", "Microsoft.Example/things/write")
    assert raised.value.code == "QuotaExceeded"
    assert isinstance(explain(raised.value, "plinth x", {}), AzureServiceError)


def test_a_refused_token_is_bad_input_naming_how_to_sign_in(script: Script) -> None:
    expired = {"error": {"code": "ExpiredAuthenticationToken", "message": "expired"}}
    script.answers = {RESOURCE: [(401, expired, {})]}
    with pytest.raises(AzureRequestError) as raised:
        client(script).get(RESOURCE, "2025-01-01", "read")
    error = explain(raised.value, "plinth x", {"read": "it"})
    assert isinstance(error, AzureError)
    assert "az login" in str(error)


def test_a_missing_resource_is_none_and_other_errors_raise(script: Script) -> None:
    missing = {"error": {"code": "ResourceNotFound", "message": "gone"}}
    busy = {"error": {"code": "ServerBusy", "message": "try later"}}
    script.answers = {RESOURCE: [(404, missing, {}), (503, busy, {})]}
    assert client(script).get(RESOURCE, "2025-01-01", "read") is None
    with pytest.raises(AzureRequestError, match="503 ServerBusy"):
        client(script).get(RESOURCE, "2025-01-01", "read")
