"""What the OpenAPI schema says beyond what drf-spectacular reads from the views and serializers.

A postprocessing hook, so that the settings are read when the schema is built, not at import;
and the token's scheme, which the API's URLconf imports. Here rather than beside the token check
(accounts/tokens.py): every process loads that one, and drf-spectacular costs a start of Django
0.17 s of imports that only a process serving the schema needs.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI schema says of our token check what it says of knox's."""

    target_class = "accounts.tokens.TokenAuthentication"


def postprocess(result: dict[str, Any], generator: object, request: object, public: bool) -> dict[str, Any]:
    low, high = settings.ACCOUNT_NUMBER_LENGTH
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "number":
                    parameter["schema"]["pattern"] = f"^[0-9]{{{low},{high}}}$"
                    parameter["description"] = f"The account number: {low} to {high} digits."
    reading = result.get("components", {}).get("schemas", {}).get("ReadingInRequest")
    if reading is not None:
        # ReadingIn.validate: exactly one of them. Both present match both branches, which oneOf refuses.
        reading["oneOf"] = [{"required": ["value"]}, {"required": ["values"]}]
    return result
