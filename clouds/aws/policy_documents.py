"""IAM and bucket policy documents as JSON, shared by the components and `plinth bootstrap`.

Plain data, no Pulumi: `plinth bootstrap` builds the state bucket's policy with the same
TLS-only statement the platform's buckets carry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

TLS_STATEMENT_ID = "DenyInsecureTransport"


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    """An IAM policy document of `statements`, as JSON with sorted keys."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    """The bucket policy statement refusing every request made without TLS."""
    return {
        "Sid": TLS_STATEMENT_ID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
