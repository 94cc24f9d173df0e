"""A person's browser for the OpenID Connect tests (httpx with its own cookie jar, following
redirects by hand so each step can be looked at), and a relying party's checks of an ID token,
done with joserfc against the provider's published JWKS, never with teamgate's own code."""

from __future__ import annotations

import html
import re
import secrets
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

SCOPE = "openid profile email teams offline_access"
CALLBACK = "http://127.0.0.1:9/callback"  # the relying party's; never requested in these tests
SIGNED_OUT = "http://127.0.0.1:9/signed-out"
PASSWORD = "olivia's long passphrase"


def hidden_fields(page: str) -> dict[str, str]:
    return {html.unescape(name): html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


class Browser:
    """One person's browser: cookies kept, redirects followed by hand (up to `until` a foreign URL)."""

    def __init__(self, base_url: str, **kwargs) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, **kwargs)

    def close(self) -> None:
        self.http.close()

    def walk(self, url: str, response: httpx.Response | None = None) -> httpx.Response:
        """GET `url` and follow redirects while they stay on teamgate; stops at a page or at a
        redirect elsewhere (the relying party's callback)."""
        response = response or self.http.get(url)
        for _ in range(10):
            if response.status_code not in (302, 303):
                return response
            target = urljoin(str(response.request.url), response.headers["location"])
            if not target.startswith(self.base_url):
                return response
            response = self.http.get(target)
        raise AssertionError("too many redirects")

    def sign_in(self, page: httpx.Response, email: str, password: str) -> httpx.Response:
        """Fill in and send the real /login form the page shows; follow on."""
        assert 'action="/login"' in page.text, page.text
        fields = hidden_fields(page.text)
        posted = self.http.post("/login", data={**fields, "email": email, "password": password})
        return self.walk("", posted)

    def submit(self, page: httpx.Response, action: str, **extra: str) -> httpx.Response:
        posted = self.http.post(action, data={**hidden_fields(page.text), **extra})
        return self.walk("", posted)


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


def id_token_claims(id_token: str, jwks: dict, *, issuer: str, client_id: str, nonce: str | None = None) -> dict:
    """Verify an ID token as a relying party does (OpenID Connect Core 3.1.3.7) with joserfc."""
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    rules = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id},
             "sub": {"essential": True}, "exp": {"essential": True}, "iat": {"essential": True}}
    if nonce is not None:
        rules["nonce"] = {"essential": True, "value": nonce}
    jwt.JWTClaimsRegistry(**rules).validate(token.claims)
    return dict(token.claims)


def access_token_claims(access_token: str, jwks: dict, *, issuer: str) -> tuple[dict, dict]:
    """An RFC 9068 access token's header and claims, verified with joserfc."""
    token = jwt.decode(access_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}, exp={"essential": True},
                          jti={"essential": True}, client_id={"essential": True}).validate(token.claims)
    return dict(token.header), dict(token.claims)


def relying_party(service, client: dict, scope: str = SCOPE, **kwargs) -> OAuth2Client:
    """Authlib's OAuth 2 client, as a product would configure it."""
    kwargs.setdefault("code_challenge_method", "S256")
    return OAuth2Client(client["clientId"], client.get("clientSecret"), scope=scope, redirect_uri=CALLBACK, **kwargs)


def authorization(service, browser: Browser, rp: OAuth2Client, *, email: str = "olivia@acme.example",
                  password: str = PASSWORD, **params) -> tuple[httpx.Response, str, str, str]:
    """The relying party sends the person to teamgate, who signs in on /login if need be. Returns
    where teamgate's answer led (the callback redirect, or a page), the state, verifier and nonce."""
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    uri, state = rp.create_authorization_url(service.config["authorization_endpoint"], code_verifier=verifier,
                                             nonce=nonce, **params)
    page = browser.walk(uri)
    if 'action="/login"' in page.text:
        page = browser.sign_in(page, email, password)
    return page, state, verifier, nonce


def sign_in(service, browser: Browser, rp: OAuth2Client, **params) -> tuple[dict, str]:
    """A whole sign-in: authorization, then the code (with its PKCE verifier) exchanged for tokens."""
    back, state, verifier, nonce = authorization(service, browser, rp, **params)
    answer = callback_params(back)
    assert answer["state"] == state and answer["iss"] == service.url, answer
    token = rp.fetch_token(service.config["token_endpoint"], code=answer["code"], code_verifier=verifier)
    return token, nonce


def jwks(service) -> dict:
    return httpx.get(service.config["jwks_uri"]).json()


def mailed_token(service, recipient: str) -> str:
    """The token in the newest invitation email to `recipient` (the serve process sends it at once)."""
    for _ in range(200):  # bounded wait for the dispatcher
        if bodies := service.emails_to(recipient):
            return re.search(r"token=([A-Za-z0-9_-]{43})", bodies[-1]).group(1)
        time.sleep(0.05)
    raise AssertionError(f"no email to {recipient}")
