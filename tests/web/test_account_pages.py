"""The recovery and account pages over HTTP: forgot, reset and verify links (GET changes nothing,
the POST uses the link), the account page's actions, and that their forms need this site's token."""

from __future__ import annotations

import re

from teamgate.storage.models import AccountToken
from tests.factories import count_rows, make_user, sign_in
from tests.recovery_helpers import (NEW_PASSWORD, RESET_LINK, VERIFY_LINK, login_status, mailed_tokens, verified_at)

EMAIL = "nora@example.com"
PAGE_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-store"}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def forgot(client, email: str):
    csrf = csrf_of((await client.get("/forgot-password")).text)
    return await client.post("/forgot-password", data={"email": email, "csrf": csrf})


async def page_signed_in(harness, person):
    """A browser signed in through the login page; returns it and the account page's form token."""
    client = harness.client()
    csrf = csrf_of((await client.get("/login")).text)
    response = await client.post("/login", data={"email": person.email, "password": person.password, "csrf": csrf})
    assert response.status_code == 303
    account = await client.get("/account")
    assert account.status_code == 200
    return client, csrf_of(account.text)


class TestForgotPassword:
    async def test_the_login_page_links_to_it(self, harness, client):
        assert 'href="/forgot-password"' in (await client.get("/login")).text

    async def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(self, harness, client):
        await make_user(harness.rt, EMAIL)
        known = await forgot(client, EMAIL)
        unknown = await forgot(harness.client(), "ghost@example.com")
        assert known.status_code == unknown.status_code == 200
        for response in (known, unknown):
            assert "If an account exists for" in response.text
            assert "content-security-policy" in response.headers and "script-src 'self'" in response.headers[
                "content-security-policy"]
            assert all(response.headers[k] == v for k, v in PAGE_HEADERS.items())
        assert len(await mailed_tokens(harness)) == 1

    async def test_without_the_form_token_nothing_is_sent(self, harness, client):
        await make_user(harness.rt, EMAIL)
        response = await client.post("/forgot-password", data={"email": EMAIL, "csrf": "forged"})
        assert response.status_code == 403
        assert await harness.send_mail() == []

    async def test_from_another_site_nothing_is_sent(self, harness, client):
        await make_user(harness.rt, EMAIL)
        csrf = csrf_of((await client.get("/forgot-password")).text)
        response = await client.post("/forgot-password", data={"email": EMAIL, "csrf": csrf},
                                     headers={"Origin": "https://evil.example"})
        assert response.status_code == 403
        assert await harness.send_mail() == []

    async def test_too_many_requests_show_the_form_with_429(self, harness, client):
        for _ in range(5):
            await forgot(client, EMAIL)
        response = await forgot(client, EMAIL)
        assert response.status_code == 429 and "Too many attempts" in response.text


class TestResetPasswordPage:
    async def test_get_changes_nothing_and_the_post_sets_the_password_and_signs_in(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        await forgot(client, EMAIL)
        [token] = await mailed_tokens(harness, RESET_LINK)
        browser = harness.client()
        for _ in range(2):  # a mail scanner's prefetch, then the person
            shown = await browser.get(f"/reset-password?token={token}")
            assert shown.status_code == 200 and EMAIL in shown.text
        response = await browser.post("/reset-password", data={"token": token, "password": NEW_PASSWORD,
                                                                "csrf": csrf_of(shown.text)})
        assert response.status_code == 303 and response.headers["location"] == "/account?done=password-reset"
        account = await browser.get(response.headers["location"])
        assert account.status_code == 200 and "Your new password is set" in account.text
        assert await login_status(harness, EMAIL, NEW_PASSWORD) == 200
        assert await login_status(harness, EMAIL, person.password) == 401
        again = await harness.client().get(f"/reset-password?token={token}")
        assert again.status_code == 400 and "does not work any more" in again.text

    async def test_a_weak_password_shows_the_form_again_and_the_link_still_works(self, harness, client):
        await make_user(harness.rt, EMAIL)
        await forgot(client, EMAIL)
        [token] = await mailed_tokens(harness, RESET_LINK)
        shown = await client.get(f"/reset-password?token={token}")
        response = await client.post("/reset-password", data={"token": token, "password": "short",
                                                               "csrf": csrf_of(shown.text)})
        assert response.status_code == 422 and "The password must be at least 8 characters" in response.text
        assert (await client.get(f"/reset-password?token={token}")).status_code == 200

    async def test_an_unknown_link_shows_a_clear_page(self, harness, client):
        response = await client.get("/reset-password?token=nope")
        assert response.status_code == 400 and "Ask for a new link" in response.text


class TestVerifyEmailPage:
    async def test_get_shows_a_button_and_only_the_post_verifies(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        browser, csrf = await page_signed_in(harness, person)
        assert "Send verification link" in (await browser.get("/account")).text
        response = await browser.post("/account/verify-email", data={"csrf": csrf})
        assert response.status_code == 200 and "We sent a verification link" in response.text
        [token] = await mailed_tokens(harness, VERIFY_LINK)
        scanner = harness.client()  # not signed in: may only look, and is asked to sign in
        looked = await scanner.get(f"/verify-email?token={token}")
        assert looked.status_code == 200 and "Sign in to confirm" in looked.text
        shown = await browser.get(f"/verify-email?token={token}")
        assert shown.status_code == 200 and "Confirm my address" in shown.text
        assert await verified_at(harness, person.id) is None
        done = await browser.post("/verify-email", data={"token": token, "csrf": csrf_of(shown.text)})
        assert done.status_code == 200 and "is now verified" in done.text
        assert await verified_at(harness, person.id) is not None
        assert "not verified" not in (await browser.get("/account")).text


class TestAccountPage:
    async def test_signed_out_it_sends_you_to_sign_in(self, harness, client):
        response = await client.get("/account")
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")

    async def test_it_shows_names_verification_and_sessions_and_the_console_links_it(self, harness):
        person = await make_user(harness.rt, EMAIL, first_name="Nora", last_name="Ng")
        browser, _ = await page_signed_in(harness, person)
        other = harness.client()
        await sign_in(other, person)
        html = (await browser.get("/account")).text
        assert "Nora Ng" in html and "not verified" in html and "this session" in html
        assert html.count('action="/account/sessions/end"') == 2
        assert 'href="/account"' in (await browser.get("/console")).text

    async def test_rename_change_password_end_a_session_and_sign_out_everywhere(self, harness):
        person = await make_user(harness.rt, EMAIL)
        browser, csrf = await page_signed_in(harness, person)
        other = harness.client()
        await sign_in(other, person)
        renamed = await browser.post("/account/names", data={"csrf": csrf, "first_name": "Nova", "last_name": "Ng"})
        assert renamed.status_code == 200 and "Nova Ng" in renamed.text
        wrong = await browser.post("/account/password", data={"csrf": csrf, "current_password": "not mine at all",
                                                               "new_password": NEW_PASSWORD})
        assert wrong.status_code == 422 and "The current password is not your current password" in wrong.text
        changed = await browser.post("/account/password", data={"csrf": csrf, "current_password": person.password,
                                                                "new_password": NEW_PASSWORD})
        assert changed.status_code == 200 and "Your password is changed" in changed.text
        assert (await other.get("/api/v1/me")).status_code == 401
        await sign_in(other, person.__class__(person.id, EMAIL, NEW_PASSWORD))
        other_id = next(s["id"] for s in (await other.get("/api/v1/me/sessions")).json()["data"] if s["current"])
        ended = await browser.post("/account/sessions/end", data={"csrf": csrf, "session_id": other_id})
        assert ended.status_code == 200 and "That session is signed out" in ended.text
        assert (await other.get("/api/v1/me")).status_code == 401
        everywhere = await browser.post("/account/sign-out-everywhere", data={"csrf": csrf})
        assert everywhere.status_code == 303 and everywhere.headers["location"] == "/login"
        assert (await browser.get("/account")).status_code == 303

    async def test_its_forms_need_this_sites_token(self, harness):
        person = await make_user(harness.rt, EMAIL)
        browser, _ = await page_signed_in(harness, person)
        for path, data in (("/account/names", {"first_name": "Eve", "last_name": "Evil"}),
                           ("/account/sign-out-everywhere", {}), ("/account/verify-email", {})):
            assert (await browser.post(path, data={"csrf": "forged", **data})).status_code == 403
        html = (await browser.get("/account")).text
        assert "Eve Evil" not in html
        assert await count_rows(harness, AccountToken) == 0


class TestHostileForms:
    async def test_hostile_posts_get_a_page_never_a_server_error_and_change_nothing(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        csrf = csrf_of((await client.get("/forgot-password")).text)
        browser, account_csrf = await page_signed_in(harness, person)
        posts = [
            (client, "/forgot-password", {"email": "a\x00@example.com", "csrf": csrf}, 200),
            (client, "/forgot-password", {"email": "a" * 400, "csrf": csrf}, 422),
            (client, "/reset-password", {"token": "tok\x00en", "password": NEW_PASSWORD, "csrf": csrf}, 400),
            (client, "/reset-password", {"token": "t" * 200, "password": NEW_PASSWORD, "csrf": csrf}, 422),
            (client, "/reset-password", {"token": "t" * 43, "password": "p" * 1000, "csrf": csrf}, 422),
            (client, "/verify-email", {"token": "' OR 1=1--", "csrf": csrf}, 400),
            (browser, "/account/names", {"first_name": "Ada\r\nBcc: x", "last_name": "L", "csrf": account_csrf}, 422),
            (browser, "/account/names", {"first_name": "\u202eAda", "last_name": "L", "csrf": account_csrf}, 422),
            (browser, "/account/sessions/end", {"session_id": "ses_\x00", "csrf": account_csrf}, 404),
            (browser, "/account/password", {"current_password": "x", "new_password": "y" * 1000,
                                            "csrf": account_csrf}, 422),
        ]
        for who, path, data, status in posts:
            response = await who.post(path, data=data)
            assert response.status_code == status, (path, data, response.status_code, response.text[:300])
            assert response.headers["content-type"].startswith("text/html")
        raw = await client.post("/reset-password", content=b"token=%ED%A0%80&password=x&csrf=" + csrf.encode(),
                                headers={"content-type": "application/x-www-form-urlencoded"})
        assert raw.status_code < 500
        assert await harness.send_mail() == []
        assert await login_status(harness, EMAIL, person.password) == 200
        assert "Ada" not in (await browser.get("/account")).text.split("<h1>")[1].split("</h1>")[0]
