"""AWS access for the commands that talk to AWS (`plinth bootstrap aws`, `plinth preflight`).

Sessions come from boto3's default credential chain (environment variables, shared
config and SSO profiles, container and instance roles) and are made when a command runs,
never at import. Every AWS failure becomes one line saying what to do: a missing
permission names the IAM action and lists every action the command needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

# boto3 ships no type information: sessions and clients are whatever boto3 returns.
Session = Any
Client = Any

HOW_TO_PROVIDE_CREDENTIALS = (
    "set AWS_PROFILE to a configured profile (after `aws configure` or `aws sso login`), "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role is attached"
)
# EC2 says UnauthorizedOperation, S3 AccessDenied, the JSON APIs AccessDeniedException.
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
REJECTED_CREDENTIAL_CODES = frozenset(
    {
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
_CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    CredentialRetrievalError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)


class AwsError(Exception):
    """A problem the user fixes outside Plinth (credentials, permissions, a name already
    taken); the message is one line and says what to change."""


class AwsServiceError(Exception):
    """AWS failed for a reason that is not the user's input (outage, throttling, network)."""


def connect(region: str) -> Session:
    """A session for `region` from the default credential chain; AwsError when it has none."""
    # Imported here: boto3 takes a sixth of a second to import; only AWS commands pay it.
    import boto3  # noqa: PLC0415

    try:
        session = boto3.Session(region_name=region)
        credentials = session.get_credentials()
    except _CREDENTIAL_ERRORS as error:
        raise AwsError(f"AWS credentials: {error}; {HOW_TO_PROVIDE_CREDENTIALS}") from None
    if credentials is None:
        raise AwsError(f"no AWS credentials found: {HOW_TO_PROVIDE_CREDENTIALS}")
    return session


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call, e.g. 'NoSuchBucketPolicy' or '403'."""
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def explained_errors(command: str, iam_actions: Mapping[str, str]) -> Iterator[None]:
    """Turn AWS failures inside the block into AwsError / AwsServiceError with one-line messages.

    `iam_actions` maps each API operation the command calls (e.g. 'GetBucketEncryption') to
    the IAM action that allows it ('s3:GetEncryptionConfiguration').
    """
    try:
        yield
    except _CREDENTIAL_ERRORS as error:
        raise AwsError(f"AWS credentials: {error}; {HOW_TO_PROVIDE_CREDENTIALS}") from None
    except ClientError as error:
        raise _explain(error, command, iam_actions) from None
    except BotoCoreError as error:
        raise AwsServiceError(f"{command}: {error}") from None


def _explain(error: ClientError, command: str, iam_actions: Mapping[str, str]) -> Exception:
    code = error_code(error)
    operation = error.operation_name
    if code in DENIED_CODES:
        action = iam_actions.get(operation, f"the IAM action for {operation}")
        needed = ", ".join(sorted(set(iam_actions.values())))
        return AwsError(
            f"{command}: AWS denied {action} ({code}): grant it to the identity running "
            f"plinth; {command} needs {needed}"
        )
    if code in REJECTED_CREDENTIAL_CODES:
        return AwsError(
            f"{command}: AWS rejected the credentials ({code}) on {operation}: "
            f"{HOW_TO_PROVIDE_CREDENTIALS}"
        )
    message = str(error.response.get("Error", {}).get("Message", "")).replace("\n", " ")
    return AwsServiceError(f"{command}: AWS {operation} failed: {code}: {message}")
