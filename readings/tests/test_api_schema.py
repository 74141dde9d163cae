"""schemathesis against the live OpenAPI schema: no server errors, no answer outside the schema.

Every check schemathesis has, on valid and on invalid data (its positive and negative modes),
500 examples per operation, each operation a test of its own. The check that credentials are
enforced probes an operation once it has answered 2xx, without and with a wrong token, and then
trusts it, as schemathesis's own runner does; alone, `call_and_validate` probes on every 2xx.
The schema is built in a fixture, when the test runs: building it at import made every pytest
collection pay for it.
"""

import functools

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import ignored_auth

from accounts.linking import account_link
from accounts.tests.factories import MeterFactory, UserFactory
from accounts.tokens import api_token_issue

EXAMPLES = 500
# A body the schema allows may still be refused by a rule of the domain (no such account, a
# reading below the last one, a reading that is not digits): 400 with the refusal's code.
# Every other check runs as schemathesis ships it.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]}}}
)


# Operations already seen refusing a request without the token and one with a wrong token.
AUTH_ENFORCED: set[str] = set()


@functools.wraps(ignored_auth)
def ignored_auth_once_per_operation(ctx, response, case):
    """schemathesis's `ignored_auth`, remembering across examples which operations it confirmed,
    as its runner does (`auth_enforced_operations`): two more requests on every 2xx otherwise."""
    ctx.auth_enforced_operations = AUTH_ENFORCED
    return ignored_auth(ctx, response, case)


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
def api_schema(db, test_transaction_kept, request):
    from portal.wsgi import application

    # schemathesis 4.32's lazy schema renames the test per operation through `_nodeid`, an
    # attribute pytest 9 no longer has; it reads it only for its reports.
    request.node._nodeid = request.node.nodeid

    return schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def token(db, monkeypatch, test_transaction_kept) -> str:
    for scope in ("token", "link", "submit"):
        monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, scope, "100000/min")
    MeterFactory(account__number="123456789", serial="AB123", initial_values=[1000])
    staff = UserFactory(username="billing", is_staff=True)
    account_link(user=staff, account_number="123456789", meter_serial="AB123")
    return api_token_issue(user=staff)[1]


OPERATIONS: list[tuple[str, str]] = []
# Revoking the token: its first call would leave nothing but 401s for the rest of the examples.
NOT_GENERATED = ("DELETE", "/api/v1/auth/token/")


def operation_test(method: str, path: str):
    """The test of one operation. One test each, not one for the whole schema: pytest-xdist runs
    them side by side."""
    OPERATIONS.append((method, path))

    @pytest.mark.slow
    @schema.include(method=method, path=path).parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def test(case, token):
        case.call_and_validate(
            headers={"Authorization": f"Token {token}"},
            excluded_checks=[ignored_auth],
            additional_checks=[ignored_auth_once_per_operation],
        )

    return test


test_accounts_list_keeps_the_schema = operation_test("GET", "/api/v1/accounts/")
test_account_link_keeps_the_schema = operation_test("POST", "/api/v1/accounts/")
test_account_unlink_keeps_the_schema = operation_test("DELETE", "/api/v1/accounts/{number}/")
test_readings_list_keeps_the_schema = operation_test("GET", "/api/v1/accounts/{number}/readings/")
test_reading_submit_keeps_the_schema = operation_test("POST", "/api/v1/accounts/{number}/readings/")
test_token_issue_keeps_the_schema = operation_test("POST", "/api/v1/auth/token/")
test_export_keeps_the_schema = operation_test("GET", "/api/v1/export/readings/")
test_window_keeps_the_schema = operation_test("GET", "/api/v1/window/")


def test_every_operation_of_the_schema_has_its_test(client):
    spec = yaml.safe_load(client.get("/api/schema/").content)
    methods = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
    in_schema = {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in methods}
    assert in_schema == {*OPERATIONS, NOT_GENERATED}


def test_the_schema_says_what_the_api_takes(client):
    spec = yaml.safe_load(client.get("/api/schema/").content)
    readings = spec["paths"]["/api/v1/accounts/{number}/readings/"]
    [number] = [p for p in readings["get"]["parameters"] if p["name"] == "number"]
    assert number["schema"]["pattern"] == "^[0-9]{6,12}$"
    page = readings["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(spec["components"]["schemas"][page]["properties"]) == {"count", "next", "previous", "results"}
    reading_in = spec["components"]["schemas"]["ReadingInRequest"]
    assert reading_in["oneOf"] == [{"required": ["value"]}, {"required": ["values"]}]
    # The token goes in the Authorization header (readings.api.schema.TokenScheme), on every operation.
    token = spec["components"]["securitySchemes"]["knoxApiToken"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    assert {"knoxApiToken": []} in readings["post"]["security"]
