"""The ACLs of ``tools.kafka_principals`` on the local broker (ADR 0018), set with the admin,
and SCRAM users added to a running broker.

aiokafka's admin client has no ``create_acls``, but its protocol has ``CreateAcls`` (v1: literal
and prefixed patterns); one request carries every binding.  Creating a binding that exists is a
no-op for the broker, so ``grant`` can run at every start.  ``AlterUserScramCredentials``
(KIP-554) is not in aiokafka at all: its v0 structs are declared here from Kafka's schema, and
the salted password is computed as SCRAM does (PBKDF2-HMAC-SHA-512, RFC 5802 ``Hi``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import secrets
import types
from collections.abc import Coroutine, Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest_v1
from aiokafka.protocol.api import RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from services.runtime.broker import KafkaCredentials, client_options
from tools.kafka_principals import Acl, Principal, principals
from tools.local.errors import LocalInfraError

RESOURCE_TYPES = {"topic": 2, "group": 3, "cluster": 4}
PATTERN_TYPES = {"literal": 3, "prefix": 4}
OPERATIONS = {"Read": 3, "Write": 4, "Create": 5, "Describe": 8, "IdempotentWrite": 12}
ALLOW = 3


Creation = tuple[int, str, int, str, str, int, int]


class _CreateAcls:
    """``CreateAcls`` v1 with many bindings (aiokafka's request carries one); the connection
    only asks a request to ``prepare`` its wire struct for the broker's versions."""

    API_KEY = 30

    def __init__(self, creations: list[Creation]) -> None:
        self._creations = creations

    def prepare(self, versions: dict[int, tuple[int, int]]) -> Any:
        low, high = versions.get(self.API_KEY, (0, -1))
        if not low <= 1 <= high:
            raise LocalInfraError("The Kafka broker does not take CreateAcls v1.")
        return CreateAclsRequest_v1(self._creations)


def bindings(principal: Principal) -> list[Creation]:
    """CreateAcls v1 creations: (resource type, name, pattern, principal, host, op, allow)."""

    def one(acl: Acl, operation: str) -> Creation:
        return (
            RESOURCE_TYPES[acl.resource_type],
            acl.name,
            PATTERN_TYPES[acl.pattern],
            principal.user,
            "*",
            OPERATIONS[operation],
            ALLOW,
        )

    return [one(acl, operation) for acl in principal.acls for operation in acl.operations]


async def _send(bootstrap_servers: str, admin: KafkaCredentials, request: object) -> Any:
    """One request as the admin, to any broker (which hands it to the controller)."""
    client = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000, **client_options(admin)
    )
    await client.start()
    try:
        return await client._send_request(request)
    finally:
        await client.close()


async def grant_async(
    bootstrap_servers: str, admin: KafkaCredentials, authorities: Iterable[str]
) -> int:
    """Create every principal's ACLs; return how many bindings were sent."""
    creations = [b for principal in principals(authorities) for b in bindings(principal)]
    response = await _send(bootstrap_servers, admin, _CreateAcls(creations))
    failed = [(code, message) for code, message in response.creation_responses if code]
    if failed:
        raise LocalInfraError(f"The broker refused {len(failed)} ACLs, e.g. {failed[0]}.")
    return len(creations)


SCRAM_SHA_512 = 2  # Kafka's ScramMechanism id
SCRAM_ITERATIONS = 8192


def _struct(name: str, base: Any, attributes: dict[str, Any]) -> Any:
    """A protocol struct class (aiokafka's are untyped, so declared without subclassing)."""
    return types.new_class(name, (base,), {}, lambda namespace: namespace.update(attributes))


_ALTER_SCRAM_RESPONSE = _struct(
    "AlterUserScramCredentialsResponse_v0",
    Response,
    {
        "API_KEY": 51,
        "API_VERSION": 0,
        "SCHEMA": Schema(
            ("throttle_time_ms", Int32),
            (
                "results",
                CompactArray(
                    ("user_name", CompactString("utf-8")),
                    ("error_code", Int16),
                    ("error_message", CompactString("utf-8")),
                    ("tags", TaggedFields),
                ),
            ),
            ("tags", TaggedFields),
        ),
    },
)
_ALTER_SCRAM_REQUEST = _struct(
    "AlterUserScramCredentialsRequest_v0",
    RequestStruct,
    {
        "API_KEY": 51,
        "API_VERSION": 0,
        "FLEXIBLE_VERSION": True,
        "RESPONSE_TYPE": _ALTER_SCRAM_RESPONSE,
        "SCHEMA": Schema(
            (
                "deletions",
                CompactArray(
                    ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
                ),
            ),
            (
                "upsertions",
                CompactArray(
                    ("name", CompactString("utf-8")),
                    ("mechanism", Int8),
                    ("iterations", Int32),
                    ("salt", CompactBytes),
                    ("salted_password", CompactBytes),
                    ("tags", TaggedFields),
                ),
            ),
            ("tags", TaggedFields),
        ),
    },
)


class _AlterScram:
    """``AlterUserScramCredentials`` v0 upserting SCRAM-SHA-512 passwords."""

    API_KEY = 51

    def __init__(self, passwords: dict[str, str]) -> None:
        self._upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]] = []
        for name, password in passwords.items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
            self._upsertions.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {}))

    def prepare(self, versions: dict[int, tuple[int, int]]) -> Any:
        if self.API_KEY not in versions:
            raise LocalInfraError("The Kafka broker does not take AlterUserScramCredentials.")
        return _ALTER_SCRAM_REQUEST([], self._upsertions, {})


async def add_users_async(
    bootstrap_servers: str, admin: KafkaCredentials, passwords: dict[str, str]
) -> None:
    """Give the running broker SCRAM-SHA-512 users (or new passwords for existing ones)."""
    response = await _send(bootstrap_servers, admin, _AlterScram(passwords))
    failed = [(name, code, message) for name, code, message, _ in response.results if code]
    if failed:
        raise LocalInfraError(f"The broker refused {len(failed)} SCRAM users, e.g. {failed[0]}.")


def add_users(bootstrap_servers: str, admin: KafkaCredentials, passwords: dict[str, str]) -> None:
    _run(_ignore_result(add_users_async(bootstrap_servers, admin, passwords)))


async def _ignore_result(coroutine: Coroutine[Any, Any, None]) -> int:
    await coroutine
    return 0


def _run(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run ``coroutine`` to the end, also when called from inside an event loop (a test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def grant(bootstrap_servers: str, admin: KafkaCredentials, authorities: Iterable[str]) -> int:
    return _run(grant_async(bootstrap_servers, admin, tuple(authorities)))
