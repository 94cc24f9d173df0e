"""A real browser (Debian's Chromium through Playwright) invites many at once from the console:
paste a list -> the dry run's table (nothing sent yet) -> create -> the emails go out. Saves the
bulk-preview screenshot (docs/screenshots with TEAMGATE_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.live import Service
from tests.web import test_browser
from tests.web.test_browser import SCREENSHOTS, sign_in, wait_for

browser, person = test_browser.browser, test_browser.person  # the fixtures: one Chromium, one context per person

OWNER = {"email": "olivia@acme.example", "password": "owner passphrase 1"}
LIST = """ada@example.com, admin
grace@example.com, member, Write the onboarding guide
linus@example.com
not-an-email
ada@example.com
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = Service(tmp_path_factory.mktemp("live-bulk"))
    svc.cli("users", "create", "--email", OWNER["email"], "--first-name", "Olivia", "--last-name", "Owner",
            "--password-stdin", stdin=OWNER["password"] + "\n")
    svc.team = svc.cli("teams", "create", "--name", "Acme", "--owner", OWNER["email"])["id"]
    svc.key = svc.cli("api-keys", "create", "--team", svc.team, "--role", "admin", "--name", "backend")["key"]
    task = httpx.post(f"{svc.url}/api/v1/tasks", headers={"X-API-Key": svc.key},
                      json={"title": "Write the onboarding guide"})
    assert task.status_code == 201, task.text
    yield svc
    svc.stop()


def invitations(service: Service) -> set[str]:
    data = httpx.get(f"{service.url}/api/v1/team-invitations", headers={"X-API-Key": service.key}).json()["data"]
    return {i["email"] for i in data}


def test_an_admin_pastes_a_list_sees_the_dry_run_then_creates(service, person):
    admin = person()
    sign_in(admin, service, OWNER["email"], OWNER["password"])
    admin.wait_for_url(re.compile(r"/console"))
    admin.get_by_role("link", name="Invite many at once").click()
    admin.wait_for_url(re.compile(r"/console/bulk$"))
    admin.get_by_label("Paste a list").fill(LIST)
    admin.get_by_label("Role for rows that name none").select_option("member")
    admin.get_by_role("button", name="Preview").click()

    admin.get_by_role("heading", name="Preview: nothing has been sent yet").wait_for()
    rows = admin.locator("table.bulk-results tbody tr")
    assert rows.count() == 5
    assert [rows.nth(i).get_attribute("data-outcome") for i in range(5)] == [
        "would_create", "would_create", "would_create", "error", "error"]
    assert admin.get_by_text("the same address as row 1").is_visible()
    assert invitations(service) == set()  # the preview wrote nothing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=SCREENSHOTS / "bulk-preview.png", full_page=True)

    admin.get_by_role("button", name=re.compile(r"^Create 3 invitations")).click()
    admin.get_by_role("heading", name="Done").wait_for()
    assert admin.get_by_text("Invited 3 (the emails are on their way); 2 could not be invited.").is_visible()
    assert invitations(service) == {"ada@example.com", "grace@example.com", "linus@example.com"}
    for address in ("ada@example.com", "grace@example.com", "linus@example.com"):
        wait_for(lambda address=address: service.emails_to(address), count=1)
