"""pulumi-policy's own analyzer servicer, decoding each resource's properties once.

For every rule, the servicer turns a resource's properties from the wire (a protobuf
`Struct`) into what the rule reads: `json_format.MessageToDict`, then
`deserialize_properties`, then `unknown_checking_proxy`. That is once per resource *and
rule* in `Analyze`, and once per resource and stack rule in `AnalyzeStack`: with the
rendered CRDs in a plan, decoding cost seconds while the rules themselves cost a tenth of
that. The result depends only on the properties, so this servicer runs the pack's own
`Analyze` and `AnalyzeStack`, unchanged, with those three steps remembered by the
properties' content: each distinct set of properties is decoded once per run of the
pack, and every rule reads the same read-only proxy.

What this relies on is private API of pulumi-policy (pinned in pyproject.toml): the
servicer class, and the module globals `json_format`, `deserialize_properties` and
`unknown_checking_proxy` that its methods call. tests/plinth/test_analyzer.py pins them, and
that the verdicts equal the unmodified servicer's. The globals are replaced only while
one of this servicer's calls runs, and put back after it.

Rules read properties, never write them (`policies/framework.py`): a proxy shared by
every rule is then the same as one per rule.

In the same process there is no wire to cross: `DecodeOnceAnalyzer.reference` stands a
small Struct (a digest of the properties) in for the properties, and decodes it as
MessageToDict would the Struct of the properties themselves: the same values, numbers as
floats (a Struct holds doubles). Building a Struct of a rendered CRD (megabytes) and
converting it back, field by field in Python, cost a fifth of `plinth preview prod`. Every
rule still reads every property of every resource; only the conversion is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pulumi_policy.policy as servicer_module
from google.protobuf import json_format, struct_pb2
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy

# The servicer module's globals this module stands in for, while a call runs.
DECODING_STEPS = ("json_format", "deserialize_properties", "unknown_checking_proxy")
# The one field of a Struct that stands for properties held in this process.
REFERENCE_FIELD = "__plinth_properties_sha256__"
_REFERENCE_PREFIX = f"{REFERENCE_FIELD}:".encode()  # a serialized Struct never starts so


class _Decoded(dict[str, Any]):
    """What MessageToDict gave for one Struct (empty when its proxy is already known),
    tagged with the Struct's content."""

    __slots__ = ("content",)

    def __init__(self, content: bytes, decoded: dict[str, Any] | None = None) -> None:
        super().__init__(decoded or {})
        self.content = content


class _Deserialized(dict[str, Any]):
    """What deserialize_properties gave for one _Decoded, with the same tag."""

    __slots__ = ("content",)

    def __init__(self, content: bytes, deserialized: dict[str, Any] | None = None) -> None:
        super().__init__(deserialized or {})
        self.content = content


class _JsonFormat:
    """`google.protobuf.json_format` as the servicer sees it: MessageToDict remembered."""

    def __init__(self, message_to_dict: Callable[..., Any]) -> None:
        self.MessageToDict = message_to_dict

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)


class PropertyDecoder:
    """The servicer's three decoding steps, each set of properties decoded once.

    The key is the Struct's deterministic serialization: equal properties, equal key,
    whichever request (resource, its provider, the stack) they arrive in. Serializing a
    large Struct for every rule costs too, so each Struct object's key is remembered by
    the object (held, so that its id stays its own): protobuf hands out the same object
    for a field each time it is read.
    """

    def __init__(
        self,
        message_to_dict: Callable[..., Any],
        deserialize: Callable[..., Any],
        proxy: Callable[[Any], Any],
    ) -> None:
        self._message_to_dict = message_to_dict
        self._deserialize = deserialize
        self._proxy = proxy
        self.proxies: dict[bytes, Any] = {}
        self._contents: dict[int, tuple[struct_pb2.Struct, bytes]] = {}
        self._referenced: dict[str, str] = {}  # digest -> the properties as JSON text
        self.decoded = 0  # how many Structs were really decoded

    def reference(self, properties: Mapping[str, Any]) -> struct_pb2.Struct:
        """A Struct standing for `properties`, decoded by `message_to_dict` as the Struct of
        `properties` would be (equal properties, one reference)."""
        text = json.dumps(properties)
        digest = hashlib.sha256(text.encode()).hexdigest()
        self._referenced.setdefault(digest, text)
        struct = struct_pb2.Struct()
        struct.fields[REFERENCE_FIELD].string_value = digest
        return struct

    def _content(self, message: struct_pb2.Struct) -> bytes:
        """The key of a Struct's properties: a reference's digest, else its serialization;
        remembered by the Struct object."""
        known = self._contents.get(id(message))
        if known is not None and known[0] is message:
            return known[1]
        digest = ""
        if len(message.fields) == 1 and REFERENCE_FIELD in message.fields:
            digest = message.fields[REFERENCE_FIELD].string_value
        if digest in self._referenced:
            content = _REFERENCE_PREFIX + digest.encode()
        else:
            content = message.SerializeToString(deterministic=True)
        self._contents[id(message)] = (message, content)
        return content

    def message_to_dict(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(message, struct_pb2.Struct):
            return self._message_to_dict(message, *args, **kwargs)
        content = self._content(message)
        if content in self.proxies:
            return _Decoded(content)
        self.decoded += 1
        if content.startswith(_REFERENCE_PREFIX):
            # What MessageToDict gives for the Struct of these properties: a Struct's
            # numbers are doubles, so integers come back as floats.
            text = self._referenced[content.removeprefix(_REFERENCE_PREFIX).decode()]
            return _Decoded(content, json.loads(text, parse_int=float))
        return _Decoded(content, self._message_to_dict(message))

    def deserialize_properties(self, props: Any, proxy_secrets: bool = False) -> Any:
        if not isinstance(props, _Decoded) or proxy_secrets:
            return self._deserialize(props, proxy_secrets)
        if props.content in self.proxies:
            return _Deserialized(props.content)
        return _Deserialized(props.content, self._deserialize(props))

    def unknown_checking_proxy(self, props: Any) -> Any:
        if not isinstance(props, _Deserialized):
            return self._proxy(props)
        proxy = self.proxies.get(props.content)
        if proxy is None:
            proxy = self.proxies[props.content] = self._proxy(props)
        return proxy

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The servicer module's decoding steps replaced by these, for one call."""
        originals = {name: getattr(servicer_module, name) for name in DECODING_STEPS}
        replacements = {
            "json_format": _JsonFormat(self.message_to_dict),
            "deserialize_properties": self.deserialize_properties,
            "unknown_checking_proxy": self.unknown_checking_proxy,
        }
        for name, replacement in replacements.items():
            setattr(servicer_module, name, replacement)
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(servicer_module, name, original)


class DecodeOnceAnalyzer(_PolicyAnalyzerServicer):
    """The pack's servicer; each distinct set of properties is decoded once per instance."""

    def __init__(self, name: str, version: str, policies: list[Policy]) -> None:
        super().__init__(name, version, policies, EnforcementLevel.MANDATORY)
        self.decoder = PropertyDecoder(
            json_format.MessageToDict,
            deserialize_properties,
            unknown_checking_proxy,
        )

    def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
        with self.decoder.installed():
            return super().Analyze(request, context)  # type: ignore[no-untyped-call]

    def reference(self, properties: Mapping[str, Any]) -> struct_pb2.Struct:
        """What to send as a request's properties instead of their Struct, in this process."""
        return self.decoder.reference(properties)

    def AnalyzeStack(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
        with self.decoder.installed():
            return super().AnalyzeStack(request, context)  # type: ignore[no-untyped-call]
