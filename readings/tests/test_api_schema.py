"""schemathesis against the live OpenAPI schema: no server errors, no answer outside the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from accounts.services import account_link, api_token_issue
from accounts.tests.factories import MeterFactory, UserFactory
from portal.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def test_transaction_kept():
    """The raw WSGI app recycles database connections per request, which would end the test's
    transaction; Django's own test client switches that off the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(db, monkeypatch, test_transaction_kept) -> str:
    for scope in ("token", "link", "submit"):
        monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, scope, "100000/min")
    MeterFactory(account__number="123456789", serial="AB123", initial_values=[1000])
    staff = UserFactory(username="billing", is_staff=True)
    account_link(user=staff, account_number="123456789", meter_serial="AB123")
    return api_token_issue(user=staff)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(case, token):
    if case.path == "/api/v1/auth/token/" and case.method == "DELETE":
        return  # revoking the token would turn the rest of the run into 401s
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[response_schema_conformance, status_code_conformance],
    )
