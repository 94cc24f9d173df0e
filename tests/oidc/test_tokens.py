"""The life of the tokens, end to end against `teamgate serve` through Authlib's client: refresh
rotation and reuse detection, revocation (RFC 7009), introspection (RFC 7662), team claims that
follow the membership, and key rotation with the old tokens valid until they expire."""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.base_client import OAuthError

from tests.oidc.helpers import (
    PASSWORD,
    Browser,
    access_token_claims,
    id_token_claims,
    jwks,
    mailed_token,
    relying_party,
    sign_in,
)


def userinfo_status(service, access_token: str) -> int:
    return httpx.get(service.config["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
                     ).status_code


class TestRefresh:
    def test_each_refresh_returns_a_new_refresh_token_and_fresh_tokens(self, service, browser):
        rp = relying_party(service, service.app)
        first, _ = sign_in(service, browser, rp, team=service.team)
        second = rp.refresh_token(service.config["token_endpoint"], refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
        claims = id_token_claims(second["id_token"], jwks(service), issuer=service.url,
                                 client_id=service.app["clientId"])
        assert claims["team_id"] == service.team and claims["sid"] == id_token_claims(
            first["id_token"], jwks(service), issuer=service.url, client_id=service.app["clientId"])["sid"]
        third = rp.refresh_token(service.config["token_endpoint"], refresh_token=second["refresh_token"])
        assert userinfo_status(service, third["access_token"]) == 200

    def test_reusing_a_spent_refresh_token_revokes_the_whole_chain(self, service, browser):
        rp = relying_party(service, service.app)
        first, _ = sign_in(service, browser, rp)
        second = rp.refresh_token(service.config["token_endpoint"], refresh_token=first["refresh_token"])
        with pytest.raises(OAuthError, match="invalid_grant"):  # a thief replays the first one
            rp.refresh_token(service.config["token_endpoint"], refresh_token=first["refresh_token"])
        with pytest.raises(OAuthError, match="invalid_grant"):  # and the legitimate newest one is dead too
            rp.refresh_token(service.config["token_endpoint"], refresh_token=second["refresh_token"])
        assert userinfo_status(service, second["access_token"]) == 401

    def test_a_refresh_token_is_only_for_its_own_client(self, service, browser):
        first, _ = sign_in(service, browser, relying_party(service, service.app))
        with pytest.raises(OAuthError, match="invalid_grant"):
            relying_party(service, service.partner).refresh_token(service.config["token_endpoint"],
                                                                 refresh_token=first["refresh_token"])
        # the owner can still use it: another client presenting it did not spend it
        relying_party(service, service.app).refresh_token(service.config["token_endpoint"],
                                                         refresh_token=first["refresh_token"])

    def test_without_offline_access_there_is_no_refresh_token(self, service, browser):
        token, _ = sign_in(service, browser, relying_party(service, service.app, scope="openid email"))
        assert "refresh_token" not in token and token["scope"] == "openid email"

    def test_a_person_who_leaves_the_team_has_no_claims_of_it_at_the_next_refresh(self, service):
        invited = httpx.post(f"{service.url}/api/v1/team-invitations", headers={"X-API-Key": service.key},
                             json={"email": "lena@acme.example", "role": "admin"})
        assert invited.status_code == 201
        joined = httpx.post(f"{service.url}/api/v1/team-invitations/accept",
                            json={"token": mailed_token(service, "lena@acme.example"), "password": PASSWORD,
                                  "firstName": "Lena", "lastName": "Leaving"})
        assert joined.status_code == 200, joined.text
        lena = Browser(service.url)
        try:
            rp = relying_party(service, service.app)
            token, _ = sign_in(service, lena, rp, email="lena@acme.example", team=service.team)
        finally:
            lena.close()
        _, claims = access_token_claims(token["access_token"], jwks(service), issuer=service.url)
        assert (claims["team_id"], claims["team_role"]) == (service.team, "admin")

        removed = httpx.delete(f"{service.url}/api/v1/team-members/{claims['sub']}", headers={"X-API-Key": service.key})
        assert removed.status_code in (200, 204), removed.text
        after = rp.refresh_token(service.config["token_endpoint"], refresh_token=token["refresh_token"])
        _, claims = access_token_claims(after["access_token"], jwks(service), issuer=service.url)
        assert "team_id" not in claims and "team_role" not in claims and "team_permissions" not in claims
        id_claims = id_token_claims(after["id_token"], jwks(service), issuer=service.url,
                                    client_id=service.app["clientId"])
        assert id_claims["teams"] == [] and "team_id" not in id_claims


class TestRevocation:
    def test_revoking_the_refresh_token_ends_the_grant(self, service, browser):
        rp = relying_party(service, service.app)
        token, _ = sign_in(service, browser, rp)
        revoked = rp.revoke_token(service.config["revocation_endpoint"], token=token["refresh_token"],
                                  token_type_hint="refresh_token")
        assert revoked.status_code == 200
        with pytest.raises(OAuthError, match="invalid_grant"):
            rp.refresh_token(service.config["token_endpoint"], refresh_token=token["refresh_token"])
        assert userinfo_status(service, token["access_token"]) == 401

    def test_revoking_the_access_token_ends_the_grant_too(self, service, browser):
        rp = relying_party(service, service.spa)  # a public client revokes with its client_id alone
        token, _ = sign_in(service, browser, rp)
        assert rp.revoke_token(service.config["revocation_endpoint"], token=token["access_token"]).status_code == 200
        assert userinfo_status(service, token["access_token"]) == 401
        with pytest.raises(OAuthError, match="invalid_grant"):
            rp.refresh_token(service.config["token_endpoint"], refresh_token=token["refresh_token"])

    def test_an_unknown_token_is_answered_200_and_another_clients_token_is_left_alone(self, service, browser):
        rp = relying_party(service, service.app)
        token, _ = sign_in(service, browser, rp)
        assert rp.revoke_token(service.config["revocation_endpoint"], token="not-a-token").status_code == 200
        partner = relying_party(service, service.partner)
        assert partner.revoke_token(service.config["revocation_endpoint"], token=token["refresh_token"]
                                    ).status_code == 400
        assert userinfo_status(service, token["access_token"]) == 200


class TestIntrospection:
    def test_a_confidential_client_introspects_its_tokens(self, service, browser):
        rp = relying_party(service, service.app)
        token, _ = sign_in(service, browser, rp, team=service.team)
        access = rp.introspect_token(service.config["introspection_endpoint"], token=token["access_token"]).json()
        assert access["active"] is True and access["client_id"] == service.app["clientId"]
        assert access["token_type"] == "Bearer" and access["iss"] == service.url and access["team_id"] == service.team
        assert access["exp"] - access["iat"] == 600 and access["sub"].startswith("usr_")
        refresh = rp.introspect_token(service.config["introspection_endpoint"], token=token["refresh_token"],
                                      token_type_hint="refresh_token").json()
        assert refresh["active"] is True and refresh["sub"] == access["sub"]

        rp.revoke_token(service.config["revocation_endpoint"], token=token["refresh_token"])
        for presented in (token["access_token"], token["refresh_token"]):
            assert rp.introspect_token(service.config["introspection_endpoint"], token=presented).json() == {
                "active": False}

    def test_a_public_client_cannot_introspect(self, service, browser):
        rp = relying_party(service, service.spa)
        token, _ = sign_in(service, browser, rp)
        assert rp.introspect_token(service.config["introspection_endpoint"], token=token["access_token"]
                                   ).status_code == 401

    def test_another_client_learns_nothing_and_garbage_is_inactive(self, service, browser):
        token, _ = sign_in(service, browser, relying_party(service, service.app))
        partner = relying_party(service, service.partner)
        assert partner.introspect_token(service.config["introspection_endpoint"], token=token["access_token"]
                                        ).json() == {"active": False}
        assert partner.introspect_token(service.config["introspection_endpoint"], token="a.b.c").json() == {
            "active": False}


class TestKeyRotation:
    def test_old_tokens_stay_valid_after_a_rotation_and_new_ones_use_the_new_key(self, service, browser):
        rp = relying_party(service, service.app)
        before, _ = sign_in(service, browser, rp)
        old_kid = access_token_claims(before["access_token"], jwks(service), issuer=service.url)[0]["kid"]

        rotated = service.cli("oidc", "keys", "rotate")
        published = {k["kid"] for k in jwks(service)["keys"]}
        assert {old_kid, rotated["kid"]} <= published
        # tokens signed before the rotation still verify, and still open userinfo, until they expire
        id_token_claims(before["id_token"], jwks(service), issuer=service.url, client_id=service.app["clientId"])
        assert userinfo_status(service, before["access_token"]) == 200

        after, _ = sign_in(service, browser, relying_party(service, service.app))
        assert access_token_claims(after["access_token"], jwks(service), issuer=service.url)[0]["kid"] == rotated["kid"]
        refreshed = rp.refresh_token(service.config["token_endpoint"], refresh_token=before["refresh_token"])
        assert access_token_claims(refreshed["access_token"], jwks(service), issuer=service.url)[0]["kid"] == \
            rotated["kid"]
