"""The pages of the provider, end to end: the consent page a client that is not first-party gets,
prompt=login and prompt=none, and RP-initiated logout to a registered post-logout URI."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from tests.oidc.helpers import (
    PASSWORD,
    SIGNED_OUT,
    Browser,
    authorization,
    callback_params,
    hidden_fields,
    relying_party,
    sign_in,
)


class TestConsent:
    def test_a_client_that_is_not_first_party_asks_once_and_the_answer_is_remembered(self, service):
        browser = Browser(service.url)
        try:
            rp = relying_party(service, service.partner)
            page, state, verifier, _ = authorization(service, browser, rp, team=service.team)
            assert page.status_code == 200 and "Allow Partner Tool?" in page.text
            assert "The teams you belong to" in page.text and "Your role in Acme" in page.text
            assert "form-action 'self' http://127.0.0.1:9;" in page.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]  # no clickjacking
            assert page.headers["x-frame-options"] == "DENY"
            back = browser.submit(page, "/oauth/authorize", decision="allow")
            answer = callback_params(back)
            assert answer["state"] == state
            assert rp.fetch_token(service.config["token_endpoint"], code=answer["code"], code_verifier=verifier
                                  )["id_token"]
            again, _, _, _ = authorization(service, browser, relying_party(service, service.partner))
            assert "code" in callback_params(again)  # no second question for the same scopes
        finally:
            browser.close()

    def test_denying_sends_the_person_back_with_access_denied(self, service):
        browser = Browser(service.url)
        try:
            page, state, _, _ = authorization(service, browser, relying_party(service, service.partner),
                                              email="bo@beta.example")
            assert "Allow Partner Tool?" in page.text
            answer = callback_params(browser.submit(page, "/oauth/authorize", decision="deny"))
            assert answer["error"] == "access_denied" and "code" not in answer and answer["state"] == state
        finally:
            browser.close()

    def test_a_consent_without_the_pages_token_is_refused(self, service):
        browser = Browser(service.url)
        try:
            page, _, _, _ = authorization(service, browser, relying_party(service, service.partner),
                                          email="bo@beta.example")
            assert "Allow Partner Tool?" in page.text  # (bo never allowed it)
            forged = {**hidden_fields(page.text), "csrf": "forged", "decision": "allow"}
            answer = browser.http.post("/oauth/authorize", data=forged)
            assert answer.status_code == 403 and "location" not in answer.headers
            genuine = {**hidden_fields(page.text), "decision": "allow"}
            from_elsewhere = browser.http.post("/oauth/authorize", data=genuine,
                                               headers={"Origin": "https://attacker.example"})
            assert from_elsewhere.status_code == 403
        finally:
            browser.close()

    def test_prompt_none_without_consent_is_an_error_not_a_page(self, service):
        browser = Browser(service.url)
        try:
            sign_in(service, browser, relying_party(service, service.app), email="bo@beta.example")
            rp = relying_party(service, service.partner, scope="openid")
            uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                                 code_verifier=secrets.token_urlsafe(48), prompt="none")
            answer = callback_params(browser.walk(uri))
            assert answer["error"] in {"consent_required", "interaction_required"}
        finally:
            browser.close()


class TestPrompts:
    def test_prompt_none_when_signed_out_is_login_required(self, service, browser):
        rp = relying_party(service, service.app)
        uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                             code_verifier=secrets.token_urlsafe(48), prompt="none")
        assert callback_params(browser.walk(uri))["error"] == "login_required"

    def test_prompt_login_asks_a_signed_in_person_to_sign_in_again(self, service, browser):
        sign_in(service, browser, relying_party(service, service.app))
        rp = relying_party(service, service.app)
        uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                             code_verifier=secrets.token_urlsafe(48), prompt="login")
        page = browser.walk(uri)
        assert 'action="/login"' in page.text
        back = browser.sign_in(page, "olivia@acme.example", PASSWORD)
        assert "code" in callback_params(back)


class TestLogout:
    def test_logout_with_an_id_token_hint_ends_the_session_and_returns_to_the_registered_uri(self, service, browser):
        token, _ = sign_in(service, browser, relying_party(service, service.app))
        state = secrets.token_urlsafe(8)
        answer = browser.http.get("/oauth/logout", params={"id_token_hint": token["id_token"], "state": state,
                                                           "post_logout_redirect_uri": SIGNED_OUT})
        assert answer.status_code == 302
        target = urlsplit(answer.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == SIGNED_OUT
        assert parse_qs(target.query)["state"] == [state]
        # the teamgate session is over: the next authorization asks to sign in
        rp = relying_party(service, service.app)
        uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                             code_verifier=secrets.token_urlsafe(48))
        assert 'action="/login"' in browser.walk(uri).text

    def test_an_unregistered_post_logout_uri_is_never_followed(self, service, browser):
        token, _ = sign_in(service, browser, relying_party(service, service.app))
        answer = browser.http.get("/oauth/logout", params={"id_token_hint": token["id_token"],
                                                           "post_logout_redirect_uri": "https://attacker.example/"})
        assert answer.status_code == 200 and "location" not in answer.headers and "signed out" in answer.text

    def test_without_an_id_token_hint_the_person_confirms_first(self, service, browser):
        sign_in(service, browser, relying_party(service, service.app))
        page = browser.http.get("/oauth/logout", params={"client_id": service.app["clientId"],
                                                         "post_logout_redirect_uri": SIGNED_OUT})
        assert page.status_code == 200 and "Sign out?" in page.text
        assert "form-action 'self' http://127.0.0.1:9;" in page.headers["content-security-policy"]
        done = browser.http.post("/oauth/logout", data={**hidden_fields(page.text), "confirm": "yes"})
        assert done.status_code == 302 and done.headers["location"] == SIGNED_OUT

    def test_a_forged_id_token_hint_is_refused(self, service, browser):
        answer = browser.http.get("/oauth/logout", params={"id_token_hint": "e30.e30.c2ln",
                                                           "post_logout_redirect_uri": SIGNED_OUT})
        assert answer.status_code == 400 and "location" not in answer.headers
