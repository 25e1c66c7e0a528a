"""The schemathesis check over the OpenAPI schema, against a real server on loopback: every operation
gets generated valid and invalid requests, and each answer must be a status the schema documents for that
operation (status_code_conformance) and never a 5xx (not_a_server_error). Bounded: a fixed number of
examples per operation and mode, no deadline (a shared CI machine is slow; nothing here times anything)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance


@dataclass
class FuzzFigures:
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    no_negative: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"schemathesis: {self.operations} operations, {self.requests} requests sent, "
            f"{self.server_errors} 5xx seen, {len(self.failures)} check failures; statuses {self.statuses}; "
            f"no invalid input possible for {self.no_negative}"
        )


def run_schemathesis(
    base: str, headers: dict[str, str], open311_key: str | None, max_examples: int = 25
) -> FuzzFigures:
    """`headers` carry the credentials (see tests/hostile.py `api_auth_headers`); `open311_key` goes
    into generated Open311 form bodies so a POST gets past the key check and reaches the intake."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    figures = FuzzFigures()
    for result in schema.get_all_operations():
        operation = result.ok()
        figures.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _exercise(operation, mode, base, headers, open311_key, max_examples, figures)
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                figures.no_negative.append(operation.label)  # nothing to get wrong (e.g. GET /healthz)
    return figures


def _exercise(
    operation: Any,
    mode: GenerationMode,
    base: str,
    headers: dict[str, str],
    open311_key: str | None,
    max_examples: int,
    figures: FuzzFigures,
) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: Any) -> None:
        if open311_key and isinstance(case.body, dict) and "api_key" in case.body:
            case.body["api_key"] = open311_key
        response = case.call(base_url=base, headers=headers, timeout=30)
        figures.requests += 1
        figures.statuses[response.status_code] = figures.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            figures.server_errors += 1
        try:
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance], headers=headers)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis Failure / FailureGroup
            figures.failures.append(f"{operation.label} [{mode}] {response.status_code}: {exc!s:.300}")

    exercise()
