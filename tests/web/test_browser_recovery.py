"""A real browser (Debian's Chromium through Playwright) recovers an account as a person would:
sign-in page -> "Forgot password?" -> the email -> the link -> a new password -> signed in.
Saves the forgot-password and account screenshots (docs/screenshots with TEAMGATE_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.live import Service
from tests.web import test_browser
from tests.web.test_browser import SCREENSHOTS, wait_for

browser, person = test_browser.browser, test_browser.person  # the fixtures: one Chromium, one context per person

EMAIL = "ada@example.com"
OLD, NEW = "ada's first passphrase", "ada's brand new passphrase"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = Service(tmp_path_factory.mktemp("live-recovery"))
    svc.cli("users", "create", "--email", EMAIL, "--first-name", "Ada", "--last-name", "Lovelace",
            "--password-stdin", stdin=OLD + "\n")
    yield svc
    svc.stop()


def test_a_person_who_forgot_the_password_resets_it_from_the_emailed_link_and_is_signed_in(service, person):
    page = person()
    page.goto(f"{service.url}/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.wait_for_url(re.compile(r"/forgot-password$"))
    page.get_by_label("Email").fill(EMAIL)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "forgot-password.png", full_page=True)
    page.get_by_role("button", name="Email me a link").click()
    assert page.get_by_text("If an account exists for").is_visible()

    [mail] = wait_for(lambda: service.emails_to(EMAIL), count=1)
    link = re.search(r"http://\S+/reset-password\?token=\S+", mail).group(0)
    page.goto(link)
    assert page.get_by_role("heading", name="Choose a new password").is_visible()
    page.get_by_label("New password").fill(NEW)
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url(re.compile(r"/account"))
    assert page.get_by_text("Your new password is set").is_visible()
    assert page.get_by_text("verified", exact=True).is_visible()  # the link proved the mailbox
    assert page.get_by_text("this session").is_visible()
    page.screenshot(path=SCREENSHOTS / "account.png", full_page=True)

    signed_in = httpx.post(f"{service.url}/api/v1/auth/login", json={"email": EMAIL, "password": NEW})
    assert signed_in.status_code == 200
    assert httpx.post(f"{service.url}/api/v1/auth/login", json={"email": EMAIL, "password": OLD}).status_code == 401
    assert page.goto(link).status == 400  # used once
    printed = service.printed()  # the logs: the access log redacts the link's token; no password is logged
    assert link.split("token=")[1] not in printed and NEW not in printed and OLD not in printed
