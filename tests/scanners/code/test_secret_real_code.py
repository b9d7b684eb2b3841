"""Lines taken in shape from real libraries: names, URNs and templates are not secrets."""

from __future__ import annotations

import pytest
from secret_scanning import scan_source


@pytest.mark.parametrize(
    "line",
    [
        'GRANT_TYPE_OAUTH = "urn:ietf:params:oauth:grant-type:jwt-bearer"',
        'token_endpoint = "https://oauth2.googleapis.com/token"',
        "clientSecret=args.salesforce_oauth2_client_secret,",
        "('OAUTH2_CLIENT_SECRET', 'oauth2ClientSecret'),",
        "def get_user_credentials(scopes, client_id, client_secret, minimum_port=8080):",
        'access_token = "Invalid token response: %s"',
        'TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"',
    ],
)
def test_names_urns_and_templates_are_not_secrets(line: str) -> None:
    assert scan_source(line + "\n") == []


@pytest.mark.parametrize(
    "line",
    [
        'DEFAULT_CLIENT_SECRET = "d-FL95Q19q7MQmFpd7hHD0Ty"',
        'api_token = "q8Zr2LmX0vT4bN7yKc1WsE9hJ3uP6dGf"',
    ],
)
def test_generated_values_under_secret_names_are_still_found(line: str) -> None:
    assert scan_source(line + "\n")
