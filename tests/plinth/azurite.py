"""Azurite, Microsoft's Azure Storage emulator, for the Blob data plane of the Azure tests.

`make test` installs it from npm into .ci/azurite/node_modules/ (the version locked in
.ci/azurite/package-lock.json); a test that needs it starts `azurite-blob` on 127.0.0.1,
on a port the system picks, with a temporary workspace and telemetry off, and stops it
afterwards. A missing Azurite fails
the test, never skips it: run `make azurite` (or `make test`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZURITE_BLOB = ROOT / ".ci" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
STARTUP_TIMEOUT_S = 30.0
_LISTENING = re.compile(r"listens on (http://127\.0\.0\.1:\d+)")


@dataclass(frozen=True)
class Azurite:
    """A running Azurite blob service holding one storage account."""

    url: str
    account: str
    key: str

    @property
    def blob_endpoint(self) -> str:
        """The account's blob endpoint (Azurite serves accounts path-style)."""
        return f"{self.url}/{self.account}/"

    def credential(self) -> dict[str, str]:
        """A shared-key credential for azure-storage-blob (Azurite's OAuth needs HTTPS)."""
        return {"account_name": self.account, "account_key": self.key}


@contextmanager
def running_azurite(workspace: Path, account: str) -> Iterator[Azurite]:
    """Azurite on 127.0.0.1 with `account` (a deterministic key), stopped afterwards."""
    if not AZURITE_BLOB.is_file():
        pytest.fail(f"Azurite is not installed at {AZURITE_BLOB}: run `make azurite`")
    key = base64.b64encode(hashlib.sha256(account.encode()).digest()).decode()
    command = [
        str(AZURITE_BLOB),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--location",
        str(workspace),
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--silent",
    ]
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{account}:{key}"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        yield Azurite(_wait_for_address(process), account, key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_address(process: subprocess.Popen[str]) -> str:
    """The URL Azurite prints once it listens; a failure when it exits or takes too long."""
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        found = _LISTENING.search(line)
        if found:
            return found.group(1)
    pytest.fail(f"Azurite did not start: {''.join(seen)[-2000:]}")
