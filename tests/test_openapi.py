"""The OpenAPI description covers every API route, and the API keeps to it (schemathesis)."""
from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_headers_conformance, response_schema_conformance,
                                 status_code_conformance)

from casetrack.extensions import db
from casetrack.services.organisation.accounts import create_token
from tests.helpers import act

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.fixture
def seeded(app, world):
    """A county with cases in several states, and a real token of a group leader who filed them."""
    for _ in range(3):
        world.file("group1")
    escalated = world.file("group1")
    act(world, escalated, "group1", "escalate")
    world.file("group1", kind="shared")
    token = create_token(world.users["group1"], "schemathesis")
    db.session.commit()
    return token


def test_api_keeps_to_its_description(app, seeded):
    """Every operation, 100 generated requests each: no server error, every answer as described."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {seeded}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    described = {f"{method.upper()} {path}" for path, ops in schema.raw_schema["paths"].items()
                 for method in ops}
    # schemathesis leaves out the description's own address
    assert {op.label for op in operations} == described - {"GET /api/v1/openapi.json"}
    calls: dict[str, int] = {}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)
            calls[operation.label] = calls.get(operation.label, 0) + 1
        run()
    assert min(calls.values()) >= 100, calls


def test_every_api_route_is_described(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/", "/open311/")):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in described


def test_docs_page_loads_its_assets_locally(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert "<script>" not in page and "https://" not in page
    for asset in ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "api-docs.js"):
        assert f"/static/{asset}" in page
        with client.get(f"/static/{asset}") as r:
            assert r.status_code == 200


def test_every_operation_that_takes_a_body_describes_413(client):
    spec = client.get("/api/v1/openapi.json").json
    with_body = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
                 if "requestBody" in op]
    assert len(with_body) >= 15
    for path, method, op in with_body:
        assert "413" in op["responses"], (method, path)
