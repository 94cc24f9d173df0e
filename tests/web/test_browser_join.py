"""A real browser (Debian's Chromium through Playwright) on the `/join` page against a running
`teamgate serve`: the owner makes a link in the console and a new person joins through it; a
signed-in person asks to join and
the owner approves from the console's queue; a new person on a link for verified addresses joins
once the emailed link is used. Saves the join screenshot (docs/screenshots with
TEAMGATE_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.live import Service
from tests.web import test_browser
from tests.web.test_browser import SCREENSHOTS, sign_in, wait_for

browser, person = test_browser.browser, test_browser.person  # the fixtures: one Chromium, one context per person

OWNER = {"email": "olivia@acme.example", "password": "owner passphrase 1"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = Service(tmp_path_factory.mktemp("live-join"))
    svc.cli("users", "create", "--email", OWNER["email"], "--first-name", "Olivia", "--last-name", "Owner",
            "--password-stdin", stdin=OWNER["password"] + "\n")
    svc.team = svc.cli("teams", "create", "--name", "Acme", "--owner", OWNER["email"])["id"]
    svc.key = svc.cli("api-keys", "create", "--team", svc.team, "--role", "admin", "--name", "backend")["key"]
    yield svc
    svc.stop()


def join_link(service: Service, **fields) -> dict:
    response = httpx.post(f"{service.url}/api/v1/join-links", headers={"X-API-Key": service.key},
                          json={"role": "member", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def members(service: Service) -> set[str]:
    data = httpx.get(f"{service.url}/api/v1/team-members", headers={"X-API-Key": service.key}).json()["data"]
    return {m["email"] for m in data}


def test_the_owner_makes_a_link_in_the_console_and_a_new_person_joins_through_it(service, person):
    owner = person()
    sign_in(owner, service, OWNER["email"], OWNER["password"])
    owner.wait_for_url(re.compile(r"/console"))
    owner.get_by_role("link", name="Join links").click()
    owner.get_by_label("Uses").fill("20")
    owner.get_by_role("button", name="Make link").click()
    owner.get_by_text("Join link made.").wait_for()  # shown once the form's post has answered
    url = owner.get_by_label("The new join link, shown only now:").input_value()
    assert owner.get_by_text("0 of 20").is_visible()

    page = person()
    page.goto(url)
    assert page.get_by_role("heading", name="Join Acme").is_visible()
    assert page.get_by_text("Olivia Owner shared a link to join Acme as member.").is_visible()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Password").fill("grace's own passphrase")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "join.png", full_page=True)
    page.get_by_role("button", name="Create account and join").click()
    page.wait_for_url(re.compile(r"/console"))
    assert page.get_by_text("Welcome! You are now a member of this team.").is_visible()
    assert "grace@example.com" in members(service)
    owner.reload()
    assert owner.get_by_text("1 of 20").is_visible()


def test_a_signed_in_person_asks_to_join_and_the_owner_approves_from_the_queue(service, person):
    service.cli("users", "create", "--email", "sam@example.com", "--first-name", "Sam", "--last-name", "Lee",
                "--password-stdin", stdin="sam's passphrase\n")
    made = join_link(service, requiresApproval=True)
    sam = person()
    sign_in(sam, service, "sam@example.com", "sam's passphrase")
    sam.wait_for_url(re.compile(r"/console"))
    sam.goto(made["url"])
    assert sam.get_by_role("heading", name="Join Acme").is_visible()
    assert sam.get_by_role("button", name=re.compile("^Create account")).count() == 0
    sam.get_by_role("button", name="Ask to join as sam@example.com").click()
    assert sam.get_by_role("heading", name="Request sent").is_visible()
    assert "sam@example.com" not in members(service)

    owner = person()
    sign_in(owner, service, OWNER["email"], OWNER["password"])
    owner.wait_for_url(re.compile(r"/console"))
    owner.get_by_role("link", name="Join requests").click()
    owner.wait_for_url(re.compile(r"/console/join-requests"))
    owner.screenshot(path=SCREENSHOTS / "join-requests.png", full_page=True)
    owner.get_by_role("button", name="Approve sam@example.com").click()
    owner.get_by_text("Approved: they are a member now.").wait_for()
    assert "sam@example.com" in members(service)
    [approved] = wait_for(lambda: service.emails_to("sam@example.com"), count=1)
    assert "was approved" in approved


def test_a_new_person_on_a_link_for_verified_addresses_joins_once_the_emailed_link_is_used(service, person):
    made = join_link(service, allowedDomains=["example.org"])
    page = person()
    page.goto(made["url"])
    assert page.get_by_text("For addresses at").is_visible()
    page.get_by_label("Email").fill("ida@example.org")
    page.get_by_label("First name").fill("Ida")
    page.get_by_label("Last name").fill("Rhodes")
    page.get_by_label("Password").fill("ida's own passphrase")
    page.get_by_role("button", name="Create account and join").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()
    assert "ida@example.org" not in members(service)

    [mail] = wait_for(lambda: service.emails_to("ida@example.org"), count=1)
    page.goto(re.search(r"http://\S+/verify-email\?token=\S+", mail).group(0))
    page.get_by_role("button", name="Confirm my address").click()
    assert page.get_by_role("heading", name="Address verified").is_visible()
    assert "ida@example.org" in members(service)
