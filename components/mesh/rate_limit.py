"""The gateway's local rate limit, as Istio documents it: an EnvoyFilter that inserts Envoy's
`envoy.filters.http.local_ratelimit` HTTP filter before the router on the gateway.

One gateway-wide token bucket (every request takes a token from it), plus one bucket per
configured host and path prefix: the filter's `rate_limits` turn each request into
descriptors (its `:authority`, and the rule's path prefix when `:path` starts with it), and
a descriptor that equals a rule's takes a token from that rule's bucket too. Buckets refill
every minute and are per gateway replica (Envoy process), not shared. Over a limit the
gateway answers 429 with `x-local-rate-limit: true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.mesh.args import RateLimitArgs, RateLimitRule

FILTER = "envoy.filters.http.local_ratelimit"
FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
FILL_INTERVAL = "60s"
HOST_KEY = "host"
PATH_KEY = "path"


def _bucket(requests_per_minute: int) -> dict[str, Any]:
    return {
        "max_tokens": requests_per_minute,
        "tokens_per_fill": requests_per_minute,
        "fill_interval": FILL_INTERVAL,
    }


def _always(runtime_key: str) -> dict[str, Any]:
    return {
        "runtime_key": runtime_key,
        "default_value": {"numerator": 100, "denominator": "HUNDRED"},
    }


def _actions(rule: RateLimitRule) -> dict[str, Any]:
    """The descriptor a request matching `rule` produces: (host, path prefix)."""
    return {
        "actions": [
            {"request_headers": {"header_name": ":authority", "descriptor_key": HOST_KEY}},
            {
                "header_value_match": {
                    "descriptor_key": PATH_KEY,
                    "descriptor_value": rule.path_prefix,
                    "expect_match": True,
                    "headers": [{"name": ":path", "string_match": {"prefix": rule.path_prefix}}],
                }
            },
        ]
    }


def _descriptor(rule: RateLimitRule) -> dict[str, Any]:
    return {
        "entries": [
            {"key": HOST_KEY, "value": rule.host},
            {"key": PATH_KEY, "value": rule.path_prefix},
        ],
        "token_bucket": _bucket(rule.requests_per_minute),
    }


def local_rate_limit_config(rate_limit: RateLimitArgs) -> dict[str, Any]:
    """The filter's typed config."""
    config: dict[str, Any] = {
        "@type": FILTER_TYPE,
        "stat_prefix": "http_local_rate_limiter",
        "token_bucket": _bucket(rate_limit.requests_per_minute),
        "filter_enabled": _always("local_rate_limit_enabled"),
        "filter_enforced": _always("local_rate_limit_enforced"),
        "response_headers_to_add": [
            {
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                "header": {"key": "x-local-rate-limit", "value": "true"},
            }
        ],
    }
    rules = [rule for _, rule in sorted(rate_limit.rules.items())]
    if rules:
        config["rate_limits"] = [_actions(rule) for rule in rules]
        config["descriptors"] = [_descriptor(rule) for rule in rules]
    return config


def local_rate_limit_filter(
    rate_limit: RateLimitArgs, gateway_selector: Mapping[str, str]
) -> dict[str, Any]:
    """The EnvoyFilter's spec: the filter on every HTTP listener of the gateway's pods."""
    return {
        "workloadSelector": {"labels": dict(gateway_selector)},
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": {
                    "context": "GATEWAY",
                    "listener": {
                        "filterChain": {
                            "filter": {
                                "name": "envoy.filters.network.http_connection_manager",
                                "subFilter": {"name": "envoy.filters.http.router"},
                            }
                        }
                    },
                },
                "patch": {
                    "operation": "INSERT_BEFORE",
                    "value": {"name": FILTER, "typed_config": local_rate_limit_config(rate_limit)},
                },
            }
        ],
    }
