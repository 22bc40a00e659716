"""The offline engine's use of the SDK's private API (plinth/engine.py): registrations
carry no stack trace while a program runs, and the SDK is as it was afterwards."""

from __future__ import annotations

import pulumi_kubernetes as k8s
from pulumi.runtime import resource as resource_runtime
from pulumi.runtime.proto import source_pb2

from plinth.engine import record


class _Resource:
    """The constructor chain the SDK looks for: Resource, CustomResource, the class."""

    def __init__(self) -> None:
        self.trace = resource_runtime._get_stack_trace()


class _CustomResource(_Resource):
    def __init__(self) -> None:
        super().__init__()


class _ConfigMap(_CustomResource):
    def __init__(self) -> None:
        super().__init__()


def test_registrations_carry_no_stack_trace_and_the_sdk_is_restored() -> None:
    original = resource_runtime._get_stack_trace
    assert _ConfigMap().trace.frames, "outside a run the SDK records the caller's frames"
    traces = []

    def program() -> None:
        traces.append(_ConfigMap().trace)
        k8s.core.v1.ConfigMap("settings", metadata={"name": "settings"}, data={"a": "b"})

    entries = record(program, stack="test", config={})
    assert traces == [source_pb2.StackTrace()]
    assert [entry["name"] for entry in entries] == ["settings"]
    assert entries[0]["inputs"]["data"] == {"a": "b"}
    assert resource_runtime._get_stack_trace is original
    assert _ConfigMap().trace.frames
