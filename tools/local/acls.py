"""The ACLs of ``tools.kafka_principals`` on the local broker (ADR 0018), set with the admin.

aiokafka's admin client has no ``create_acls``, but its protocol has ``CreateAcls`` (v1: literal
and prefixed patterns); one request carries every binding.  Creating a binding that exists is a
no-op for the broker, so ``grant`` can run at every start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest_v1

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


async def grant_async(
    bootstrap_servers: str, admin: KafkaCredentials, authorities: Iterable[str]
) -> int:
    """Create every principal's ACLs; return how many bindings were sent."""
    creations = [b for principal in principals(authorities) for b in bindings(principal)]
    client = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000, **client_options(admin)
    )
    await client.start()
    try:
        response = await client._send_request(_CreateAcls(creations))
    finally:
        await client.close()
    failed = [(code, message) for code, message in response.creation_responses if code]
    if failed:
        raise LocalInfraError(f"The broker refused {len(failed)} ACLs, e.g. {failed[0]}.")
    return len(creations)


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
