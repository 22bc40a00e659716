"""The offline engine: runs the real program under Pulumi's mock engine and records it.

Pulumi's `MockMonitor` hands a mock only a resource's type, name and inputs. Plinth's
`RecordingMonitor` also keeps what the engine would see in the registration request:
parent, dependencies, provider, `protect`, `retain_on_delete`, aliases. Values only the
cloud would know come back as deterministic placeholders, so a plan is the same on every
run and every machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, settings
from pulumi.runtime import resource as resource_runtime
from pulumi.runtime.proto import source_pb2

from plinth.environments import Environment
from plinth.placeholders import (
    AWS_PROVIDER,
    AZURE_PROVIDER,
    DEFAULT_LOCATION,
    DEFAULT_REGION,
    LIST_USER_CREDENTIALS,
    SUBSCRIPTION_ID,
    aws_outputs,
    azure_outputs,
    user_credentials,
)
from plinth.progress import silent

# Markers of Pulumi's property wire format (sdk/python/lib/pulumi/runtime/rpc.py).
SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (a marker, not a secret)
RESOURCE_SIGNATURE = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
STACK_TYPE = "pulumi:pulumi:Stack"
URN_PREFIX = "urn:pulumi:"
SECRET_MARK = "[secret]"  # noqa: S105 (what a plan shows instead of a secret value)


class _StderrLines(logging.Handler):
    """Prints each message the program logs (`pulumi.log.warn`...) on stderr, as the
    Pulumi CLI would show it; resolved at each message, so redirected stderr is honoured."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"plinth: {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


# What the program logs under the mocks: warnings and errors, on stderr.
PROGRAM_LOG = logging.getLogger("plinth.program")
PROGRAM_LOG.setLevel(logging.WARNING)
PROGRAM_LOG.addHandler(_StderrLines())
PROGRAM_LOG.propagate = False


class PlaceholderMocks(mocks.Mocks):
    """Answers every registration with its inputs plus deterministic cloud-side values."""

    def __init__(self) -> None:
        self.aws_regions: dict[str, str] = {}  # AWS provider id -> its region
        # azure-native provider id -> its (subscription, location)
        self.azure_providers: dict[str, tuple[str, str]] = {}
        # (type, name) -> the name it was first created under, from its aliases: a renamed
        # resource keeps the physical name the provider gave it at creation.
        self.former_names: dict[tuple[str, str], str] = {}

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id = f"{args.name}-id"
        state = dict(args.inputs)
        metadata = state.get("metadata")
        if args.typ.startswith("kubernetes:") and isinstance(metadata, dict):
            # The API server would assign these; components may read them.
            state["metadata"] = {"name": args.name, **metadata, "uid": f"uid-{args.name}"}
        elif args.typ == AWS_PROVIDER:
            self.aws_regions[resource_id] = str(state.get("region") or DEFAULT_REGION)
        elif args.typ.startswith("aws:"):
            provider_id = (args.provider or "").rsplit("::", 1)[-1]
            region = self.aws_regions.get(provider_id, DEFAULT_REGION)
            physical = self.former_names.get((args.typ, args.name), args.name)
            state = {**aws_outputs(args.typ, physical, state, region), **state}
            if args.typ == "aws:s3/bucket:Bucket":
                resource_id = str(state["bucket"])  # a bucket's id is its name
        elif args.typ == AZURE_PROVIDER:
            self.azure_providers[resource_id] = (
                str(state.get("subscriptionId") or SUBSCRIPTION_ID),
                str(state.get("location") or DEFAULT_LOCATION),
            )
        elif args.typ.startswith("azure-native:"):
            subscription, location = self._azure_provider(args.provider)
            outputs = azure_outputs(args.typ, args.name, state, subscription, location)
            state = {**state, **outputs}  # what Azure reports wins over the inputs
            resource_id = str(outputs["id"])  # an Azure resource's id is its ARM ID
        return resource_id, state

    def _azure_provider(self, provider: str | None) -> tuple[str, str]:
        provider_id = (provider or "").rsplit("::", 1)[-1]
        return self.azure_providers.get(provider_id, (SUBSCRIPTION_ID, DEFAULT_LOCATION))

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answers the invokes the program makes: an AKS cluster's user kubeconfig."""
        if args.token == LIST_USER_CREDENTIALS:
            _, location = self._azure_provider(args.provider)
            return user_credentials(args.args, location), []
        return {}, []


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps every registration request as a plan entry."""

    def __init__(self, mock: mocks.Mocks, progress: Callable[[str], None] = silent) -> None:
        super().__init__(mock)
        self.progress = progress
        self.top_level: dict[str, str] = {}  # URN -> name of its top-level resource
        self.entries: list[dict[str, Any]] = []
        self.former_names: dict[str, str] = {}  # URN -> the name it had before a rename
        self.worker_loops: set[asyncio.AbstractEventLoop] = set()
        # URN -> the resource's own `transforms=` (the engine applies them, and its
        # ancestors', to every child: also to the objects a chart renders).
        self.transforms: dict[str, list[Callable[..., Any]]] = {}

    def _keep_worker_loop(self) -> None:
        # MockMonitor opens an event loop on each worker thread (for deserializing) and
        # never closes it; left to the garbage collector, a loop can outlive its self-pipe
        # and fail noisily in `__del__`. run_program closes them when the run is over.
        if threading.current_thread() is not threading.main_thread():
            with contextlib.suppress(RuntimeError):
                self.worker_loops.add(asyncio.get_event_loop_policy().get_event_loop())

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        former = former_name(request) or self._inherited_former_name(request)
        if former and isinstance(self.mocks, PlaceholderMocks):
            self.mocks.former_names[(request.type, request.name)] = former
        try:
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        finally:
            self._keep_worker_loop()
        if former:
            self.former_names[response.urn] = former
        transforms = mocks._resolve_callbacks(request.transforms)
        if transforms:
            self.transforms[response.urn] = transforms
        if request.type != STACK_TYPE:
            self.entries.append(plan_entry(request, response.urn))
            self._report(request, response.urn)
        return response

    def _report(self, request: Any, urn: str) -> None:
        """Progress: the top-level component being built, and how many resources so far."""
        component = self.top_level.get(request.parent) or str(request.name)
        self.top_level[urn] = component
        self.progress(f"running the program: {component} ({len(self.entries)} resources)")

    def _inherited_former_name(self, request: Any) -> str | None:
        """A child named after its renamed parent had the parent's former name as prefix
        (the engine derives the child's alias the same way)."""
        parent_former = self.former_names.get(request.parent)
        if not parent_former:
            return None
        parent_name = split_urn(request.parent)[3]
        if not request.name.startswith(parent_name):
            return None
        return str(parent_former) + str(request.name).removeprefix(parent_name)


def former_name(request: Any) -> str | None:
    """The name a registration's first alias gives (by spec or by URN), if any."""
    for alias in request.aliases:
        if alias.HasField("spec") and alias.spec.name:
            return str(alias.spec.name)
        if alias.urn:
            return split_urn(alias.urn)[3]
    return split_urn(request.aliasURNs[0])[3] if request.aliasURNs else None


def provider_urn(reference: str) -> str:
    """The provider's URN from a resource's `provider` field (`<provider urn>::<id>`)."""
    return reference.rsplit("::", 1)[0] if reference else ""


def split_urn(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of a URN."""
    stack, project, qualified_type, name = urn.removeprefix(URN_PREFIX).split("::", 3)
    return stack, project, qualified_type, name


def make_urn(stack: str, project: str, parent: str, type_token: str, name: str) -> str:
    """A URN as Pulumi's mock monitor makes it: the parent's own type, `$`, the type."""
    if parent:
        type_token = f"{split_urn(parent)[2].split('$')[-1]}${type_token}"
    return f"{URN_PREFIX}{stack}::{project}::{type_token}::{name}"


def plan_entry(request: Any, urn: str) -> dict[str, Any]:
    """One resource of the plan, from its registration request."""
    return {
        "urn": urn,
        "type": request.type,
        "name": request.name,
        "parent": request.parent,
        "custom": request.custom,
        "remote": request.remote,
        "provider": request.provider,
        "providers": dict(sorted(request.providers.items())),
        "dependencies": sorted(set(request.dependencies)),
        "protect": request.protect,
        "retain_on_delete": request.retainOnDelete,
        "delete_before_replace": request.deleteBeforeReplace,
        "ignore_changes": sorted(request.ignoreChanges),
        "replace_on_changes": sorted(request.replaceOnChanges),
        "aliases": sorted(
            [
                *request.aliasURNs,
                *(
                    json_format.MessageToJson(a, sort_keys=True, indent=None)
                    for a in request.aliases
                ),
            ]
        ),
        "inputs": clean_value(json_format.MessageToDict(request.object)),
    }


def clean_value(value: Any) -> Any:
    """Wire-format properties as plain data: secrets masked, references by URN, ints whole."""
    if isinstance(value, dict):
        signature = value.get(SIGNATURE_KEY)
        if signature == SECRET_SIGNATURE:
            inner = value.get("value")
            if isinstance(inner, dict):
                # A secret map (a Secret's stringData): its values are secret, its keys are
                # names, kept so that the object keeps its schema's shape.
                return dict.fromkeys(sorted(inner), SECRET_MARK)
            return SECRET_MARK
        if signature == RESOURCE_SIGNATURE:
            return {"$resource": value.get("urn", "")}
        return {key: clean_value(child) for key, child in sorted(value.items())}
    if isinstance(value, list):
        return [clean_value(child) for child in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN_VALUE:
        return "[unknown]"
    return value


def run_program(
    root: Path,
    environment: Environment,
    transforms: dict[str, list[Callable[..., Any]]] | None = None,
    progress: Callable[[str], None] = silent,
) -> list[dict[str, Any]]:
    """Run `stacks/__main__.py` for `environment` under mocks; the plan entries, by URN.
    `transforms`, when given, receives each resource's own `transforms=` by URN;
    `progress` hears of each registration."""
    program = str(root / "stacks" / "__main__.py")
    return record(
        lambda: runpy.run_path(program, run_name="__main__"),
        stack=environment.name,
        config=environment.pulumi_config,
        secret_keys=environment.secret_keys,
        transforms=transforms,
        progress=progress,
    )


def record(
    program: Callable[[], object],
    *,
    stack: str,
    config: Mapping[str, str],
    secret_keys: Sequence[str] = (),
    transforms: dict[str, list[Callable[..., Any]]] | None = None,
    progress: Callable[[str], None] = silent,
) -> list[dict[str, Any]]:
    """Run `program` (anything that registers resources) under mocks as stack `stack` with
    `config`; the plan entries it registered, by URN. Tests build single components this way.
    `transforms`, when given, receives each resource's own `transforms=` by URN."""
    settings.reset_options()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mock = PlaceholderMocks()
    monitor = RecordingMonitor(mock, progress)
    pulumi.runtime.set_mocks(
        mock,
        project="plinth",
        stack=stack,
        preview=False,
        monitor=monitor,
        logger=PROGRAM_LOG,
    )
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> None:
        program()

    try:
        with _without_stack_traces():
            run()
    finally:
        # Join the executor's threads before closing, so none outlives its loop.
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        for worker_loop in monitor.worker_loops:
            worker_loop.close()
        # The mock monitor's worker threads open event loops of their own; collecting them
        # now closes them cleanly instead of noisily later. Not when the command holds
        # the collector off (plinth/heap.py): a full collection of the SDKs' heap costs
        # more than the run, and the process exits with that heap frozen.
        if gc.isenabled():
            gc.collect()
    if transforms is not None:
        transforms.update(monitor.transforms)
    return sorted(monitor.entries, key=lambda entry: str(entry["urn"]))


@contextlib.contextmanager
def _without_stack_traces() -> Iterator[None]:
    """The SDK's registrations without the caller's stack trace.

    For each resource the SDK walks the Python stack and sends every frame's file and line
    (the CLI shows where a failing resource was declared): a fifth of the cost of a
    registration, for a field the plan does not record. Private API of the pinned SDK
    (`pulumi.runtime.resource._get_stack_trace`), pinned in tests/plinth/test_engine.py.
    """
    original = resource_runtime._get_stack_trace
    resource_runtime._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        resource_runtime._get_stack_trace = original


def kubernetes_objects(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The concrete Kubernetes objects of a plan (typed resources and custom resources)."""
    objects = []
    for entry in entries:
        inputs = entry["inputs"]
        if entry["custom"] and entry["type"].startswith("kubernetes:") and "kind" in inputs:
            objects.append(inputs)
    return objects
