"""One `teamgate serve` for the OpenID Connect end-to-end tests of a test worker: two teams,
their owners, and registered clients of every kind."""

from __future__ import annotations

import httpx
import pytest

from tests.live import Service
from tests.oidc.helpers import CALLBACK, PASSWORD, SIGNED_OUT, Browser


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    # every test signs in, some several times: the sign-in limits are not what these tests are about
    svc = Service(tmp_path_factory.mktemp("oidc"), env={"TEAMGATE_RATE_LIMIT_SIGN_IN_PER_ACCOUNT": "1000/minute",
                                                       "TEAMGATE_RATE_LIMIT_SIGN_IN_PER_IP": "1000/minute"})
    for email, first, last in [("olivia@acme.example", "Olivia", "Owner"), ("bo@beta.example", "Bo", "Beta")]:
        svc.cli("users", "create", "--email", email, "--first-name", first, "--last-name", last, "--password-stdin",
                stdin=PASSWORD + "\n")
    svc.team = svc.cli("teams", "create", "--name", "Acme", "--owner", "olivia@acme.example")["id"]
    svc.other_team = svc.cli("teams", "create", "--name", "Beta", "--owner", "bo@beta.example")["id"]
    svc.key = svc.cli("api-keys", "create", "--team", svc.team, "--role", "admin", "--name", "backend")["key"]
    # the product's own web app (confidential, first-party), its browser app (public), and a partner's app
    svc.app = svc.cli("oidc-clients", "create", "--name", "Acme App", "--redirect-uri", CALLBACK, "--first-party",
                      "--post-logout-redirect-uri", SIGNED_OUT)
    svc.spa = svc.cli("oidc-clients", "create", "--name", "Acme SPA", "--redirect-uri", CALLBACK, "--public",
                      "--first-party")
    svc.partner = svc.cli("oidc-clients", "create", "--name", "Partner Tool", "--redirect-uri", CALLBACK)
    svc.config = httpx.get(f"{svc.url}/.well-known/openid-configuration").json()
    yield svc
    svc.stop()


@pytest.fixture
def browser(service):
    b = Browser(service.url)
    yield b
    b.close()
