"""Clients this project did not write: every service's live OpenAPI document is valid, and
schemathesis finds no server error, no undocumented status code or content type and no answer
that differs from the document, with valid and with invalid input (issue 13).

Bounded and repeatable: a fixed number of examples per operation, derandomised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tests.system.conftest import System

pytestmark = pytest.mark.kafka
EXAMPLES = 20
# A report that fits the schema can still be refused with 400: the observation must lie in the
# last 30 days and the point in the Netherlands, rules JSON Schema cannot state. Every other
# check runs, including that the refusal is documented problem+json.
RULES_BEYOND_THE_SCHEMA = [schemathesis.checks.positive_data_acceptance]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolves(document: dict[str, Any], ref: str) -> bool:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _failures(base_url: str, headers: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    found: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            found.append(f"an operation the document cannot describe: {result.err()}")
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def conforms(case: Any) -> None:
                case.call_and_validate(headers=headers, excluded_checks=RULES_BEYOND_THE_SCHEMA)

            try:
                conforms()
            except Unsatisfiable:
                continue  # no input to get wrong: GET /health has no parameters
            except Exception as failure:  # each operation's first failure, all reported at once
                found.append(f"{operation.label} ({mode.value}): {failure}")
    return found


@pytest.mark.parametrize("service", ["intake", "router", "notifier"])
def test_the_openapi_document_is_valid_and_every_reference_resolves(
    conformance_system: System, service: str
) -> None:
    document = httpx.get(f"{conformance_system.urls[service]}/openapi.json").json()
    validate(document)
    dangling = {ref for ref in _refs(document) if not _resolves(document, ref)}
    assert not dangling


@pytest.mark.parametrize("service", ["intake", "router", "notifier"])
def test_schemathesis_finds_nothing(conformance_system: System, service: str) -> None:
    headers = {"Authorization": f"Bearer {conformance_system.key}"} if service == "notifier" else {}
    failures = _failures(conformance_system.urls[service], headers)
    assert not failures, "\n\n".join(failures)
