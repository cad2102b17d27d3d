"""Schemathesis against our own OpenAPI schema: no request, however malformed, gets a 500."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions

EXAMPLES_PER_OPERATION = 20


def test_no_server_errors(arena: Arena) -> None:
    arena.submit(truth_predictions(arena.bundle))
    schema = schemathesis.openapi.from_asgi("/openapi.json", arena.client.app)
    identities = (None, auth(arena.participant), auth(arena.host), auth(arena.admin))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            for headers in identities:
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error], headers=headers)

        check()
