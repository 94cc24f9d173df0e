"""Real browsers: Debian's Chromium, driven by Playwright (never a downloaded browser), against
a running `teamgate serve`. Saves the screenshots the README shows."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.live import Service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The README's pictures are refreshed on request (TEAMGATE_UPDATE_SCREENSHOTS=1 make test), so a
# test run leaves the working tree as it found it; otherwise they are taken into a scratch folder.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
               if os.environ.get("TEAMGATE_UPDATE_SCREENSHOTS") else Path(tempfile.gettempdir()) / "teamgate-screenshots")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
OWNER = {"email": "olivia@acme.example", "password": "owner passphrase 1"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from tests.conftest import _pg_available  # noqa: F401  (the suite's other half needs it; pages use SQLite)

    svc = Service(tmp_path_factory.mktemp("live"))
    user = svc.cli("users", "create", "--email", OWNER["email"], "--first-name", "Olivia", "--last-name", "Owner",
                   "--password-stdin", stdin=OWNER["password"] + "\n")
    svc.team = svc.cli("teams", "create", "--name", "Acme", "--owner", OWNER["email"])["id"]
    svc.key = svc.cli("api-keys", "create", "--team", svc.team, "--role", "admin", "--name", "backend")["key"]
    svc.owner_id = user["id"]
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = "Debian's chromium is not installed (make test installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def person(browser):
    """A new browser context: one person, with their own cookies."""
    contexts = []

    def new():
        context = browser.new_context(viewport={"width": 1100, "height": 820})
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


def api_invite(service: Service, email_address: str, **extra) -> dict:
    response = httpx.post(f"{service.url}/api/v1/team-invitations", headers={"X-API-Key": service.key},
                          json={"email": email_address, "role": "member", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def members(service: Service) -> set[str]:
    data = httpx.get(f"{service.url}/api/v1/team-members", headers={"X-API-Key": service.key}).json()["data"]
    return {m["email"] for m in data}


def sign_in(page, service: Service, email_address: str, password: str) -> None:
    page.goto(f"{service.url}/login")
    page.get_by_label("Email").fill(email_address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_new_person_accepts_and_lands_signed_in_as_a_member(service, person):
    task = httpx.post(f"{service.url}/api/v1/tasks", headers={"X-API-Key": service.key},
                      json={"title": "Write the onboarding guide"}).json()
    created = api_invite(service, "grace@example.com", taskIds=[task["id"]])
    page = person()
    page.goto(created["acceptUrl"])
    assert page.get_by_role("heading", name="Join Acme").is_visible()
    assert page.get_by_text("Write the onboarding guide").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "invite.png", full_page=True)

    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Password").fill("grace's own passphrase")
    page.get_by_role("button", name="Accept and create account").click()
    page.wait_for_url(re.compile(r"/console"))
    assert page.get_by_text("Welcome! You are now a member of this team.").is_visible()
    assert page.get_by_text("grace@example.com").first.is_visible()
    assert "grace@example.com" in members(service)


def test_an_existing_user_signs_in_from_the_invite_page_and_accepts(service, person):
    service.cli("users", "create", "--email", "sam@example.com", "--first-name", "Sam", "--last-name", "Lee",
                "--password-stdin", stdin="sam's passphrase\n")
    created = api_invite(service, "sam@example.com")
    page = person()
    page.goto(created["acceptUrl"])
    page.get_by_role("link", name="Sign in to accept").click()
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill("sam's passphrase")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/invite\?token="))
    page.get_by_role("button", name="Accept as sam@example.com").click()
    page.wait_for_url(re.compile(r"/console"))
    assert "sam@example.com" in members(service)


def test_someone_signed_in_as_another_person_sees_the_mismatch_and_is_not_added(service, person):
    created = api_invite(service, "rita@example.com")
    page = person()
    sign_in(page, service, OWNER["email"], OWNER["password"])
    page.wait_for_url(re.compile(r"/console"))
    page.goto(created["acceptUrl"])
    assert page.get_by_text("but this invitation is for").is_visible()
    assert page.get_by_role("button", name="Switch account").is_visible()
    assert page.get_by_role("button", name=re.compile("^Accept")).count() == 0
    assert "rita@example.com" not in members(service)


def test_an_expired_link_shows_the_expired_page(service, person):
    created = api_invite(service, "late@example.com")
    with sqlite3.connect(service.root / "data" / "teamgate.db") as db:  # as if a week had passed
        db.execute("UPDATE invitations SET expires_at = '2000-01-01 00:00:00.000000' WHERE id = ?", (created["id"],))
    page = person()
    response = page.goto(created["acceptUrl"])
    assert response.status == 410
    assert page.get_by_role("heading", name="This invitation has expired").is_visible()
    assert page.get_by_text("Ask the person who invited you to resend it").is_visible()
    page.screenshot(path=SCREENSHOTS / "expired.png", full_page=True)


def test_an_admin_invites_from_the_console_and_the_emails_link_works_then_resends_and_cancels(service, person):
    admin = person()
    sign_in(admin, service, OWNER["email"], OWNER["password"])
    admin.wait_for_url(re.compile(r"/console"))
    admin.get_by_label("Email", exact=True).fill("lin@example.com")
    admin.get_by_role("button", name="Send invitation").click()
    admin.get_by_text("Invited lin@example.com. The email is on its way.").wait_for()  # shown once the form's post has answered
    admin.screenshot(path=SCREENSHOTS / "console.png", full_page=True)

    [first_email] = wait_for(lambda: service.emails_to("lin@example.com"), count=1)
    first_link = re.search(r"http://\S+/invite\?token=\S+", first_email).group(0)
    invitee = person()
    invitee.goto(first_link)
    assert invitee.get_by_role("heading", name="Join Acme").is_visible()

    admin.get_by_role("button", name="Resend to lin@example.com").click()
    admin.get_by_text("Invitation sent again with a new link").wait_for()  # shown once the form's post has answered
    emails = wait_for(lambda: service.emails_to("lin@example.com"), count=2)
    new_link = re.search(r"http://\S+/invite\?token=\S+", emails[1]).group(0)
    assert new_link != first_link
    assert invitee.goto(first_link).status == 404  # the old link died with the resend
    assert invitee.goto(new_link).status == 200

    admin.get_by_role("button", name="Cancel invitation for lin@example.com").click()
    admin.get_by_text("Invitation cancelled").wait_for()  # shown once the form's post has answered
    assert invitee.goto(new_link).status == 410
    assert invitee.get_by_role("heading", name="This invitation was withdrawn").is_visible()


def wait_for(read, count: int) -> list:
    """The dispatcher sends right after the commit; wait (bounded) until `count` messages are there."""
    for _ in range(200):
        found = read()
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"expected {count} emails, found {len(read())}")


@pytest.mark.parametrize("path, rendered", [("/docs", ".opblock"), ("/redoc", "[data-section-id]")])
def test_the_api_docs_render_under_their_csp_from_this_origin_alone(service, person, path, rendered):
    page = person()
    violations, loaded = [], []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("requestfinished", lambda r: loaded.append(r.url))
    page.goto(f"{service.url}{path}")
    page.wait_for_selector(rendered, timeout=15_000)
    assert page.locator(rendered).count() > 10
    assert [u for u in loaded if not u.startswith((service.url, "blob:", "data:"))] == []
    # Redoc's footer asks for its logo from its maker's CDN; the CSP refuses it, and nothing else is refused
    assert [v for v in violations if "cdn.redoc.ly" not in v] == []
