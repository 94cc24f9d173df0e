"""What the provider refuses, end to end against `teamgate serve`, through Authlib's client:
a public client without PKCE, a redirect URI that is not registered (and no redirect to it), a
code used twice, a team the person is not in; and what it tells about an address nobody proved."""

from __future__ import annotations

import secrets

import httpx
import pytest
from authlib.integrations.base_client import OAuthError

from tests.oidc.helpers import (
    CALLBACK,
    authorization,
    callback_params,
    id_token_claims,
    jwks,
    mailed_token,
    relying_party,
    sign_in,
)


def test_a_public_client_without_pkce_is_sent_back_with_an_error_and_no_code(service, browser):
    rp = relying_party(service, service.spa, code_challenge_method=None)
    uri, state = rp.create_authorization_url(service.config["authorization_endpoint"])
    assert "code_challenge" not in uri
    answer = callback_params(browser.walk(uri))
    assert answer["error"] == "invalid_request" and "PKCE" in answer["error_description"]
    assert answer["state"] == state and "code" not in answer


def test_only_s256_is_accepted_as_the_challenge_method(service, browser):
    rp = relying_party(service, service.spa, code_challenge_method=None)
    uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                         code_challenge=secrets.token_urlsafe(48), code_challenge_method="plain")
    answer = callback_params(browser.walk(uri))
    assert answer["error"] == "invalid_request" and "code" not in answer


def test_a_code_without_its_verifier_gets_no_tokens(service, browser):
    rp = relying_party(service, service.spa)
    back, _, _, _ = authorization(service, browser, rp)
    with pytest.raises(OAuthError, match="invalid_request"):
        rp.fetch_token(service.config["token_endpoint"], code=callback_params(back)["code"])


def test_a_code_with_the_wrong_verifier_gets_no_tokens(service, browser):
    rp = relying_party(service, service.app)
    back, _, _, _ = authorization(service, browser, rp)
    with pytest.raises(OAuthError, match="invalid_grant"):
        rp.fetch_token(service.config["token_endpoint"], code=callback_params(back)["code"],
                       code_verifier=secrets.token_urlsafe(48))


@pytest.mark.parametrize("redirect_uri", ["https://attacker.example/callback", CALLBACK + "/more",
                                          CALLBACK + "?next=https://attacker.example", "http://127.0.0.1:9/Callback"])
def test_a_redirect_uri_not_registered_exactly_gets_teamgates_own_page_and_no_redirect(service, browser,
                                                                                        redirect_uri):
    rp = relying_party(service, service.app)
    rp.redirect_uri = redirect_uri
    uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                         code_verifier=secrets.token_urlsafe(48))
    for signed_in in (False, True):
        if signed_in:
            sign_in(service, browser, relying_party(service, service.app))
        page = browser.walk(uri)
        assert page.status_code == 400 and "location" not in page.headers
        assert "This sign-in cannot go on" in page.text and "attacker" not in page.headers.get(
            "content-security-policy", "")


def test_an_unknown_client_gets_teamgates_own_page(service, browser):
    rp = relying_party(service, {"clientId": "tgc_nobody"})
    uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                         code_verifier=secrets.token_urlsafe(48))
    page = browser.walk(uri)
    assert page.status_code == 400 and "location" not in page.headers


def test_a_code_used_twice_is_refused_and_revokes_the_tokens_it_gave(service, browser):
    rp = relying_party(service, service.app)
    back, _, verifier, _ = authorization(service, browser, rp)
    code = callback_params(back)["code"]
    first = rp.fetch_token(service.config["token_endpoint"], code=code, code_verifier=verifier)
    with pytest.raises(OAuthError, match="invalid_grant"):
        rp.fetch_token(service.config["token_endpoint"], code=code, code_verifier=verifier)
    with pytest.raises(OAuthError, match="invalid_grant"):  # RFC 6749 4.1.2: what the code gave is revoked
        rp.refresh_token(service.config["token_endpoint"], refresh_token=first["refresh_token"])
    userinfo = httpx.get(service.config["userinfo_endpoint"],
                         headers={"Authorization": f"Bearer {first['access_token']}"})
    assert userinfo.status_code == 401


def test_another_clients_code_is_refused(service, browser):
    rp = relying_party(service, service.app)
    back, _, verifier, _ = authorization(service, browser, rp)
    thief = relying_party(service, service.partner)
    with pytest.raises(OAuthError, match="invalid_grant"):
        thief.fetch_token(service.config["token_endpoint"], code=callback_params(back)["code"], code_verifier=verifier)
    # and the code still works for its own client (the thief did not burn it)
    assert rp.fetch_token(service.config["token_endpoint"], code=callback_params(back)["code"],
                          code_verifier=verifier)["access_token"]


def test_a_wrong_client_secret_is_refused(service, browser):
    rp = relying_party(service, service.app)
    back, _, verifier, _ = authorization(service, browser, rp)
    impostor = relying_party(service, {**service.app, "clientSecret": "tgcs_not-the-secret"})
    with pytest.raises(OAuthError, match="invalid_client"):
        impostor.fetch_token(service.config["token_endpoint"], code=callback_params(back)["code"],
                             code_verifier=verifier)


def test_asking_for_a_team_the_person_is_not_in_is_denied(service, browser):
    back, state, _, _ = authorization(service, browser, relying_party(service, service.app), team=service.other_team)
    answer = callback_params(back)
    assert answer["error"] == "access_denied" and "code" not in answer and answer["state"] == state
    assert answer["iss"] == service.url
    back, _, _, _ = authorization(service, browser, relying_party(service, service.app), team="team_nonsense")
    assert callback_params(back)["error"] == "access_denied"


def test_an_address_nobody_proved_is_email_verified_false_and_a_proven_one_true(service, browser):
    token, _ = sign_in(service, browser, relying_party(service, service.app))
    claims = id_token_claims(token["id_token"], jwks(service), issuer=service.url, client_id=service.app["clientId"])
    assert claims["email_verified"] is False  # olivia was made with the CLI: no mail proved her address

    invited = httpx.post(f"{service.url}/api/v1/team-invitations", headers={"X-API-Key": service.key},
                         json={"email": "vera@acme.example", "role": "member"})
    assert invited.status_code == 201
    mail_token = mailed_token(service, "vera@acme.example")
    accepted = httpx.post(f"{service.url}/api/v1/team-invitations/accept",
                          json={"token": mail_token, "password": "vera's own long passphrase", "firstName": "Vera",
                                "lastName": "Verified"})
    assert accepted.status_code == 200, accepted.text
    other = type(browser)(service.url)
    try:
        token, _ = sign_in(service, other, relying_party(service, service.app), email="vera@acme.example",
                           password="vera's own long passphrase")
    finally:
        other.close()
    claims = id_token_claims(token["id_token"], jwks(service), issuer=service.url, client_id=service.app["clientId"])
    assert claims["email"] == "vera@acme.example" and claims["email_verified"] is True


def test_unknown_scopes_are_refused(service, browser):
    rp = relying_party(service, service.app, scope="openid admin")
    uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                         code_verifier=secrets.token_urlsafe(48))
    assert callback_params(browser.walk(uri))["error"] == "invalid_scope"


def test_a_verifier_for_a_code_asked_without_a_challenge_is_refused(service, browser):
    """RFC 9700 4.8 (PKCE downgrade): a confidential client may skip PKCE, but then a code_verifier
    at the token endpoint means somebody stripped the challenge on the way."""
    rp = relying_party(service, service.app, code_challenge_method=None)
    uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"], nonce="n")
    sign_in(service, browser, relying_party(service, service.app))  # signed in already: straight back
    code = callback_params(browser.walk(uri))["code"]
    with pytest.raises(OAuthError, match="invalid_request"):
        rp.fetch_token(service.config["token_endpoint"], code=code, code_verifier=secrets.token_urlsafe(48))


def test_teamgates_answers_are_never_cached_nor_leak_through_referrers(service, browser):
    back, _, verifier, _ = authorization(service, browser, relying_party(service, service.app))
    assert back.headers["cache-control"] == "no-store" and back.headers["referrer-policy"] == "no-referrer"
    token = httpx.post(service.config["token_endpoint"], auth=(service.app["clientId"], service.app["clientSecret"]),
                       data={"grant_type": "authorization_code", "code": callback_params(back)["code"],
                             "redirect_uri": CALLBACK, "code_verifier": verifier})
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
