"""How a product's API reads a teamgate access token (an RFC 9068 JWT): verify it against
teamgate's JWKS with joserfc, then use the team claims. Run as a check:

    TEAMGATE_ISSUER=http://127.0.0.1:8000 CLIENT_ID=tgc_... python docs/examples/resource_server.py <access token>
"""

from __future__ import annotations

import json
import os
import sys

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

ISSUER, CLIENT_ID = os.environ["TEAMGATE_ISSUER"], os.environ["CLIENT_ID"]
JWKS_URI = httpx.get(f"{ISSUER}/.well-known/openid-configuration").json()["jwks_uri"]


def verified(access_token: str) -> dict:
    """RFC 9068 4: our issuer, for our client, `typ` at+jwt, signed with a key teamgate publishes,
    not expired. (Fetch the JWKS again when a token names a `kid` you have not seen: a rotation.)"""
    token = jwt.decode(access_token, KeySet.import_key_set(httpx.get(JWKS_URI).json()), algorithms=["RS256"])
    if token.header.get("typ") != "at+jwt":
        raise ValueError("not an access token")
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": CLIENT_ID},
                          exp={"essential": True}, sub={"essential": True}).validate(token.claims)
    return dict(token.claims)


def may(claims: dict, permission: str, team_id: str) -> bool:
    """What the product's API asks: may this person do `permission` in this team?"""
    return claims.get("team_id") == team_id and permission in claims.get("team_permissions", [])


if __name__ == "__main__":
    claims = verified(sys.argv[1])
    print(json.dumps(claims, indent=2))
    print("may invite:", may(claims, "invitations:manage", claims.get("team_id", "")))
