"""plinth/azure_session.py against a scripted local server: Azure-AsyncOperation polling
(ARM's other long-running operation pattern), its failure, and how answers become
one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plinth.azure_session import (
    AzureError,
    AzureRequestError,
    AzureServiceError,
    RestClient,
    explain,
)
from tests.plinth.azure_fake import Answer, FakeCredential, serving


class Script:
    """Answers by path, in order; every request is kept (served by azure_fake.serving)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.seen: list[tuple[str, str]] = []
        self.url = ""

    def answer(self, method: str, raw_path: str, body: dict[str, Any]) -> Answer:  # noqa: ARG002
        """The next scripted answer for the path, {url} in its headers filled in."""
        path = raw_path.split("?", maxsplit=1)[0]
        self.seen.append((method, path))
        status, answer, headers = self.answers[path].pop(0)
        return status, answer, {k: v.replace("{url}", self.url) for k, v in headers.items()}


@pytest.fixture
def script() -> Iterator[Script]:
    with serving(Script()) as running:
        yield running


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
    assert script.seen == [
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
