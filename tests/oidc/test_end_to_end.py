"""teamgate as an OpenID Connect provider, end to end: a running `teamgate serve`, a relying
party using Authlib's OAuth 2 client (not teamgate's code) and joserfc to check every token
against the published JWKS, and a person signing in through the real /login page form."""

from __future__ import annotations

import json
import re
import secrets

from tests.oidc.helpers import (
    SCOPE,
    access_token_claims,
    callback_params,
    id_token_claims,
    jwks,
    relying_party,
    sign_in,
)


class TestDiscovery:
    def test_it_names_every_endpoint_under_the_issuer_and_what_is_supported(self, service):
        config = service.config
        assert config["issuer"] == service.url
        for name, path in [("authorization_endpoint", "/oauth/authorize"), ("token_endpoint", "/oauth/token"),
                           ("userinfo_endpoint", "/oauth/userinfo"), ("jwks_uri", "/oauth/jwks"),
                           ("revocation_endpoint", "/oauth/revoke"), ("introspection_endpoint", "/oauth/introspect"),
                           ("end_session_endpoint", "/oauth/logout")]:
            assert config[name] == service.url + path
        assert config["response_types_supported"] == ["code"]
        assert config["code_challenge_methods_supported"] == ["S256"]
        assert set(config["grant_types_supported"]) == {"authorization_code", "refresh_token"}
        assert {"openid", "profile", "email", "teams", "offline_access"} <= set(config["scopes_supported"])
        assert "implicit" not in config["grant_types_supported"] and "password" not in config["grant_types_supported"]

    def test_the_jwks_publishes_an_rs256_public_key_and_nothing_private(self, service):
        keys = jwks(service)["keys"]
        assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig" and "d" not in k
                            for k in keys)


class TestSignIn:
    def test_code_and_pkce_through_the_login_form_give_tokens_the_relying_party_verifies(self, service, browser):
        rp = relying_party(service, service.app)
        token, nonce = sign_in(service, browser, rp, team=service.team)
        assert token["token_type"].lower() == "bearer" and token["expires_in"] == 600 and token["refresh_token"]
        claims = id_token_claims(token["id_token"], jwks(service), issuer=service.url,
                                 client_id=service.app["clientId"], nonce=nonce)
        assert claims["email"] == "olivia@acme.example" and claims["email_verified"] is False  # made by the CLI
        assert (claims["name"], claims["given_name"], claims["family_name"]) == ("Olivia Owner", "Olivia", "Owner")
        assert claims["exp"] - claims["iat"] == 600 and claims["sub"].startswith("usr_")
        assert claims["teams"] == [{"id": service.team, "name": "Acme", "role": "owner",
                                    "permissions": claims["team_permissions"]}]
        assert (claims["team_id"], claims["team_role"]) == (service.team, "owner")
        assert "invitations:manage" in claims["team_permissions"]

        userinfo = rp.get(service.config["userinfo_endpoint"])
        assert userinfo.status_code == 200
        assert userinfo.json() == {k: claims[k] for k in userinfo.json()}
        assert {"sub", "email", "email_verified", "teams", "team_id"} <= set(userinfo.json())

    def test_the_access_token_is_an_rfc_9068_jwt_with_the_team_claims(self, service, browser):
        rp = relying_party(service, service.app)
        token, _ = sign_in(service, browser, rp, team=service.team)
        header, claims = access_token_claims(token["access_token"], jwks(service), issuer=service.url)
        assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
        assert claims["client_id"] == service.app["clientId"] and claims["exp"] - claims["iat"] == 600
        assert claims["scope"] == SCOPE and claims["sub"].startswith("usr_")
        assert (claims["team_id"], claims["team_role"]) == (service.team, "owner")

    def test_a_public_client_signs_in_with_pkce_and_no_secret(self, service, browser):
        token, nonce = sign_in(service, browser, relying_party(service, service.spa))
        claims = id_token_claims(token["id_token"], jwks(service), issuer=service.url,
                                 client_id=service.spa["clientId"], nonce=nonce)
        assert "team_id" not in claims  # no team asked for

    def test_a_person_already_signed_in_goes_straight_back_to_the_application(self, service, browser):
        sign_in(service, browser, relying_party(service, service.app))
        rp = relying_party(service, service.app)
        uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                             code_verifier=secrets.token_urlsafe(48))
        assert "code" in callback_params(browser.walk(uri))

    def test_the_login_page_names_the_application_it_continues_to_and_lets_its_form_lead_there(self, service,
                                                                                              browser):
        rp = relying_party(service, service.app)
        uri, _ = rp.create_authorization_url(service.config["authorization_endpoint"],
                                             code_verifier=secrets.token_urlsafe(48))
        page = browser.walk(uri)
        assert "to continue to <strong>Acme App</strong>" in page.text
        assert re.search(r"form-action 'self' http://127\.0\.0\.1:9;", page.headers["content-security-policy"])


class TestOperatorCommands:
    def test_clients_are_listed_without_secrets_and_deleted_with_their_grants(self, service, browser):
        made = service.cli("oidc-clients", "create", "--name", "Short-lived", "--redirect-uri",
                           "https://short.example/cb")
        listed = service.cli("oidc-clients", "list")["data"]
        mine = next(c for c in listed if c["id"] == made["id"])
        assert mine["clientId"] == made["clientId"] and "clientSecret" not in mine and mine["public"] is False
        assert made["clientSecret"] not in json.dumps(listed)
        assert service.cli("oidc-clients", "delete", made["id"]) == {"id": made["id"], "deleted": True}
        assert made["id"] not in {c["id"] for c in service.cli("oidc-clients", "list")["data"]}
