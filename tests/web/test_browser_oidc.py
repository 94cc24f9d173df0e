"""Debian's Chromium, driven by Playwright, through an invitation that ends inside a product: a
new person accepts on teamgate's /invite page and lands in a small relying-party app (the one
docs/oidc.md shows: Authlib's client, joserfc), signed in, with the team in the claims. Every
hop is a real browser navigation, so the pages' Content-Security-Policy (form-action) and the
cookies' SameSite rules are in play as in production."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live import Service, free_port
from tests.web.test_browser import browser, person  # noqa: F401 (the fixtures: Chromium and a person's context)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "python_app.py"


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    """teamgate, a team with an admin key, and the product's app registered as a first-party client."""
    svc = Service(tmp_path_factory.mktemp("oidc-browser"))
    svc.cli("users", "create", "--email", "olivia@acme.example", "--first-name", "Olivia", "--last-name", "Owner",
            "--password-stdin", stdin="olivia's long passphrase\n")
    svc.team = svc.cli("teams", "create", "--name", "Acme", "--owner", "olivia@acme.example")["id"]
    svc.key = svc.cli("api-keys", "create", "--team", svc.team, "--role", "admin", "--name", "backend")["key"]
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    client = svc.cli("oidc-clients", "create", "--name", "Acme App", "--redirect-uri", f"{app_url}/callback",
                     "--first-party")
    env = {**os.environ, "TEAMGATE_ISSUER": svc.url, "CLIENT_ID": client["clientId"],
           "CLIENT_SECRET": client["clientSecret"], "PORT": str(port)}
    app = subprocess.Popen([sys.executable, str(EXAMPLE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(200):  # bounded wait for the app's port
        try:
            httpx.get(app_url, timeout=0.5)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    svc.app_url = app_url
    yield svc
    app.terminate()
    app.wait(timeout=10)
    svc.stop()


def test_a_new_person_accepts_an_invitation_and_lands_in_the_product_signed_in_with_the_team(product, person):
    made = httpx.post(f"{product.url}/api/v1/team-invitations", headers={"X-API-Key": product.key},
                      json={"email": "nia@example.com", "role": "member",
                            "redirectUrl": f"{product.app_url}/login?team={product.team}"})
    assert made.status_code == 201, made.text
    page = person()
    page.goto(made.json()["acceptUrl"])
    assert page.get_by_role("heading", name="Join Acme").is_visible()
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Newcomer")
    page.get_by_label("Password").fill("nia's own long passphrase")
    page.get_by_role("button", name="Accept and create account").click()

    # teamgate -> the product's /login -> teamgate's /oauth/authorize (signed in by the accept,
    # first-party: no consent) -> the product's /callback -> the product's home page
    page.wait_for_url(re.compile(re.escape(product.app_url) + r"/$"))
    assert page.get_by_role("heading", name="Signed in as nia@example.com").is_visible()
    assert page.get_by_text(f"Team: {product.team} as member").is_visible()
    assert page.locator("#teams").inner_text().strip() == "Acme (member)"
