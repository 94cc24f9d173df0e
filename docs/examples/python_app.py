"""A product's web app that signs people in with teamgate (OpenID Connect), in one file.

Authlib's OAuth 2 client runs the authorization code flow with PKCE; joserfc verifies the ID
token against teamgate's published keys. Nothing here is teamgate's code. Run it with:

    TEAMGATE_ISSUER=http://127.0.0.1:8000 CLIENT_ID=tgc_... CLIENT_SECRET=tgcs_... PORT=5000 \
        python docs/examples/python_app.py

and register http://127.0.0.1:5000/callback as the client's redirect URI. `/login?team=<id>`
asks for that team's claims; an invitation's redirectUrl can point there.
"""

from __future__ import annotations

import html
import os
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

ISSUER = os.environ["TEAMGATE_ISSUER"]
CLIENT_ID, CLIENT_SECRET = os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"]
PORT = int(os.environ.get("PORT", "5000"))
HERE = f"http://127.0.0.1:{PORT}"
CONFIG = httpx.get(f"{ISSUER}/.well-known/openid-configuration").json()
PENDING: dict[str, tuple[str, str]] = {}  # state -> (PKCE verifier, nonce), while the person is at teamgate
SESSIONS: dict[str, dict] = {}  # this app's own session cookie -> the verified ID token's claims


def oauth() -> OAuth2Client:
    return OAuth2Client(CLIENT_ID, CLIENT_SECRET, scope="openid profile email teams",
                        redirect_uri=f"{HERE}/callback", code_challenge_method="S256")


def verified_claims(id_token: str, nonce: str) -> dict:
    """OpenID Connect Core 3.1.3.7: signed by teamgate, issued by it, for us, for this sign-in."""
    keys = KeySet.import_key_set(httpx.get(CONFIG["jwks_uri"]).json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": CLIENT_ID},
                          nonce={"essential": True, "value": nonce}, exp={"essential": True}).validate(token.claims)
    return dict(token.claims)


class App(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/login":
            verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
            team = {"team": query["team"]} if "team" in query else {}
            uri, state = oauth().create_authorization_url(CONFIG["authorization_endpoint"], code_verifier=verifier,
                                                          nonce=nonce, **team)
            PENDING[state] = (verifier, nonce)
            self.answer(302, headers={"Location": uri})
        elif url.path == "/callback":
            verifier, nonce = PENDING.pop(query.get("state", ""), ("", ""))
            if not verifier or "code" not in query:
                self.answer(400, f"Sign-in did not complete: {html.escape(query.get('error', 'unknown state'))}")
                return
            token = oauth().fetch_token(CONFIG["token_endpoint"], code=query["code"], code_verifier=verifier)
            session = secrets.token_urlsafe(32)
            SESSIONS[session] = verified_claims(token["id_token"], nonce)
            self.answer(303, headers={"Location": "/", "Set-Cookie": f"app_session={session}; HttpOnly; "
                                                                      "SameSite=Lax; Path=/"})
        elif url.path == "/":
            cookie = dict(p.strip().split("=", 1) for p in self.headers.get("Cookie", "").split(";") if "=" in p)
            claims = SESSIONS.get(cookie.get("app_session", ""))
            if claims is None:
                self.answer(200, '<a href="/login">Sign in with teamgate</a>')
                return
            team = (f"<p id=team>Team: {html.escape(claims['team_id'])} as {html.escape(claims['team_role'])}</p>"
                    if "team_id" in claims else "")
            teams = "".join(f"<li>{html.escape(t['name'])} ({html.escape(t['role'])})</li>" for t in claims["teams"])
            self.answer(200, f"<h1>Signed in as {html.escape(claims['email'])}</h1>"
                             f"<p>{html.escape(claims['name'])}, address verified: {claims['email_verified']}</p>"
                             f"{team}<ul id=teams>{teams}</ul>")
        else:
            self.answer(404, "Not found")

    def answer(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "text/html; charset=utf-8", **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(f"<!doctype html><title>Example app</title>{body}".encode())

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    print(f"example app on {HERE}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", PORT), App).serve_forever()
