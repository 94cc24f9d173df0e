"""`/console/bulk` over HTTP, on both engines: a pasted list or a CSV file previewed as a dry run
(nothing written), then created; refusals shown on the page; forms from elsewhere refused."""

from __future__ import annotations

import html
import re

from teamgate.storage.models import Invitation
from tests.factories import add_member, count_rows, dump_database, key_headers, make_api_key, make_team
from tests.web.test_pages import csrf_of

LIST = "ada@example.com\ngrace@example.com, admin, Write the guide\nnot-an-email\nada@example.com\n"


async def signed_in(harness, person):
    browser = harness.client()
    form = await browser.get("/login")
    response = await browser.post("/login", data={"email": person.email, "password": person.password,
                                                  "csrf": csrf_of(form.text)})
    assert response.status_code == 303
    return browser


def outcomes(page: str) -> list[str]:
    return re.findall(r'<tr data-outcome="([a-z_]+)">', page)


async def test_a_pasted_list_is_previewed_then_created(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    await harness.client().post("/api/v1/tasks", headers=key_headers(key), json={"title": "Write the guide"})
    browser = await signed_in(harness, team.owner)
    form = await browser.get("/console/bulk")
    assert form.status_code == 200 and "Paste a list" in form.text
    before = await dump_database(harness)

    preview = await browser.post("/console/bulk/preview", data={"csrf": csrf_of(form.text), "role": "member",
                                                                "text": LIST})

    assert preview.status_code == 200, preview.text
    assert outcomes(preview.text) == ["would_create", "would_create", "error", "error"]
    assert "Preview: nothing has been sent yet" in preview.text and "Create 2 invitations" in preview.text
    assert "the same address as row 1" in preview.text
    assert await dump_database(harness) == before
    hidden = html.unescape(re.search(r'name="text" value="([^"]*)"', preview.text).group(1))

    done = await browser.post("/console/bulk/create", data={"csrf": csrf_of(preview.text), "role": "member",
                                                            "text": hidden})

    assert done.status_code == 200 and outcomes(done.text) == ["created", "created", "error", "error"]
    assert "Invited 2 (the emails are on their way)" in done.text
    async with harness.owner() as db:
        from sqlalchemy import select

        made = {i.email: i for i in await db.scalars(select(Invitation))}
    assert set(made) == {"ada@example.com", "grace@example.com"}
    assert made["grace@example.com"].role == "admin" and len(made["grace@example.com"].task_ids) == 1
    assert sorted(m.recipient for m in await harness.send_mail()) == ["ada@example.com", "grace@example.com"]


async def test_a_csv_file_is_read_and_without_email_each_link_is_shown(harness):
    team = await make_team(harness.rt)
    browser = await signed_in(harness, team.owner)
    form = await browser.get("/console/bulk")
    csv = b"email,role\r\nlin@example.com,member\r\n"
    preview = await browser.post("/console/bulk/preview", data={"csrf": csrf_of(form.text), "role": "admin",
                                                                "no_email": "true", "text": "ignored@example.com"},
                                 files={"file": ("people.csv", csv, "text/csv")})
    assert outcomes(preview.text) == ["would_create"]
    hidden = html.unescape(re.search(r'name="text" value="([^"]*)"', preview.text).group(1))
    done = await browser.post("/console/bulk/create", data={"csrf": csrf_of(preview.text), "role": "admin",
                                                            "no_email": "true", "text": hidden})
    assert outcomes(done.text) == ["created"]
    assert re.search(r'value="http://127\.0\.0\.1:8000/invite\?token=[A-Za-z0-9_-]{43}" readonly', done.text)
    assert await harness.send_mail() == []


async def test_a_list_refused_as_a_whole_shows_why_and_writes_nothing(harness):
    team = await make_team(harness.rt)
    browser = await signed_in(harness, team.owner)
    form = await browser.get("/console/bulk")
    many = "\n".join(f"p{n}@example.com" for n in range(501))
    refused = await browser.post("/console/bulk/preview", data={"csrf": csrf_of(form.text), "role": "member",
                                                                "text": many})
    assert refused.status_code == 422 and "At most 500 invitations" in refused.text
    empty = await browser.post("/console/bulk/preview", data={"csrf": csrf_of(form.text), "role": "member",
                                                              "text": "\n# nobody\n"})
    assert empty.status_code == 422 and "Paste at least one email address" in empty.text
    unreadable = await browser.post("/console/bulk/preview", data={"csrf": csrf_of(form.text), "role": "member"},
                                    files={"file": ("people.csv", b"\xff\xfe\x00bad", "text/csv")})
    assert unreadable.status_code == 422 and "not UTF-8 text" in unreadable.text
    assert await count_rows(harness, Invitation) == 0


async def test_a_member_who_may_not_invite_is_told_so_and_cannot_post(harness):
    team = await make_team(harness.rt)
    member = await add_member(harness.rt, team.id, "m@example.com")
    browser = await signed_in(harness, member)  # signing in makes her one team the current one
    form = await browser.get("/console/bulk")
    assert "cannot invite people" in form.text and 'name="text"' not in form.text
    csrf = csrf_of((await browser.get("/account")).text)  # the session's token, from a page that has a form
    refused = await browser.post("/console/bulk/create", data={"csrf": csrf, "role": "member",
                                                               "text": "a@example.com"})
    assert refused.status_code == 403
    assert await count_rows(harness, Invitation) == 0


async def test_a_form_from_another_site_is_refused(harness):
    team = await make_team(harness.rt)
    browser = await signed_in(harness, team.owner)
    form = await browser.get("/console/bulk")
    refused = await browser.post("/console/bulk/create", data={"csrf": csrf_of(form.text), "role": "member",
                                                               "text": "a@example.com"},
                                 headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    missing = await browser.post("/console/bulk/create", data={"csrf": "x" * 64, "role": "member",
                                                               "text": "a@example.com"})
    assert missing.status_code == 403
    assert await count_rows(harness, Invitation) == 0


async def test_signed_out_visitors_are_sent_to_sign_in(harness):
    response = await harness.client().get("/console/bulk")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
