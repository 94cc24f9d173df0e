"""The OpenID Connect provider's own rules (domain/oidc.py), directly."""

from __future__ import annotations

import pytest

from teamgate.domain import oidc as rules

ACME = rules.TeamClaim(id="team_A", name="Acme", role="admin", permissions=("invitations:manage", "team:read"))


class TestRedirectUris:
    @pytest.mark.parametrize("uri", ["https://app.example/callback", "https://app.example:8443/cb?x=1",
                                     "http://localhost:5173/callback", "http://127.0.0.1:9/callback",
                                     "http://[::1]:8080/cb"])
    def test_https_anywhere_and_plain_http_on_this_machine_are_accepted(self, uri):
        assert rules.redirect_uri_problem(uri) is None

    @pytest.mark.parametrize("uri, why", [
        ("http://app.example/callback", "https"), ("https://app.example/cb#x", "fragment"),
        ("https://user:pw@app.example/cb", "user name"), ("https://*.app.example/cb", "wildcards"),
        ("javascript:alert(1)", "absolute"), ("/callback", "absolute"), ("https://app.example/a b", "spaces"),
        ("https://app.example:99999/cb", "valid"), ("https://" + "a" * 2000 + ".example", "2000"),
    ])
    def test_what_could_be_abused_is_refused_with_a_reason(self, uri, why):
        assert why in (rules.redirect_uri_problem(uri) or "")

    def test_an_origin_is_scheme_host_and_port_lowercased(self):
        assert rules.origin("HTTPS://App.Example:8443/cb?x") == "https://app.example:8443"
        assert rules.origin_problem("https://app.example") is None
        assert rules.origin_problem("https://app.example/path") is not None


class TestScopesAndClaims:
    def test_unknown_scopes_are_dropped_and_each_kept_once_in_order(self):
        assert rules.granted_scopes("email openid admin email teams") == ["email", "openid", "teams"]
        assert rules.granted_scopes(None) == []

    def test_each_scope_adds_only_its_own_claims(self):
        person = {"sub": "usr_1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                      "email_verified": False, "teams": [ACME], "team": None}
        assert rules.person_claims(scopes=["openid"], **person) == {"sub": "usr_1"}
        assert rules.person_claims(scopes=["openid", "profile"], **person) == {
            "sub": "usr_1", "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace"}
        assert rules.person_claims(scopes=["email"], **person) == {
            "sub": "usr_1", "email": "ada@example.com", "email_verified": False}
        assert rules.person_claims(scopes=["teams"], **person)["teams"] == [
            {"id": "team_A", "name": "Acme", "role": "admin", "permissions": ["invitations:manage", "team:read"]}]

    def test_the_authorized_team_adds_its_claims_and_none_without_membership(self):
        claims = rules.person_claims(sub="usr_1", first_name="A", last_name="B", email="a@b.c", email_verified=True,
                                     scopes=["openid"], teams=[ACME], team=ACME)
        assert (claims["team_id"], claims["team_role"], claims["team_permissions"]) == (
            "team_A", "admin", ["invitations:manage", "team:read"])
        assert rules.team_claims(None) == {}


class TestContinuations:
    def test_an_authorization_path_names_its_client_and_redirect_uri(self):
        path = "/oauth/authorize?client_id=tgc_x&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid"
        assert rules.authorization_target(path) == ("tgc_x", "https://app.example/cb")

    @pytest.mark.parametrize("path", ["/console", "/oauth/authorize?client_id=a", "https://evil.example/oauth/authorize",
                                      "/oauth/authorize?client_id=a&client_id=b&redirect_uri=x"])
    def test_anything_else_is_not_one(self, path):
        assert rules.authorization_target(path) is None

    def test_access_tokens_look_like_jwts_and_refresh_tokens_do_not(self):
        assert rules.looks_like_jwt("a.b.c") and not rules.looks_like_jwt("x" * 43)
