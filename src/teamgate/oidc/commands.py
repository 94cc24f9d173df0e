"""The provider's operator commands (DESIGN 13): `teamgate oidc-clients create|list|delete` and
`teamgate oidc keys rotate`. cli.py mounts them and hands them its way of running a command in
one committed transaction and of printing its result."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.runtime import Runtime
from teamgate.services import oidc_clients, oidc_keys
from teamgate.services.context import Actor

Work = Callable[[AsyncSession, Runtime], Awaitable[Any]]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]


def build(in_transaction: Callable[[Work], Any], emit: Callable[[bool, dict, str], None]) -> tuple[typer.Typer, ...]:
    clients = typer.Typer(help="Manage the applications that sign people in with teamgate (OpenID Connect).",
                          no_args_is_help=True)
    oidc = typer.Typer(help="The OpenID Connect provider.", no_args_is_help=True)
    keys = typer.Typer(help="The provider's signing keys.", no_args_is_help=True)
    oidc.add_typer(keys, name="keys")

    @clients.command("create")
    def create(name: Annotated[str, typer.Option(help="Shown to people on the consent page.")],
               redirect_uri: Annotated[list[str], typer.Option(
                   "--redirect-uri", help="Where sign-ins return (repeatable; compared exactly).")],
               public: Annotated[bool, typer.Option(
                   "--public", help="A client without a secret (a browser or native app); it must use PKCE.")] = False,
               first_party: Annotated[bool, typer.Option(
                   "--first-party", help="Your own product: people are not asked for consent.")] = False,
               post_logout_redirect_uri: Annotated[list[str] | None, typer.Option(
                   "--post-logout-redirect-uri", help="Where sign-outs may return (repeatable).")] = None,
               as_json: JsonFlag = False):
        """Register a client; a confidential client's secret is shown once."""

        async def work(db, rt):
            return await oidc_clients.create(db, rt, Actor.system(), name=name, redirect_uris=redirect_uri,
                                             public=public, first_party=first_party,
                                             post_logout_redirect_uris=post_logout_redirect_uri or [])

        issued = in_transaction(work)
        data = {"id": issued.client.id, "clientId": issued.client.client_id}
        if issued.secret:
            data["clientSecret"] = issued.secret
        secret = f"\nclient secret (shown only now): {issued.secret}" if issued.secret else " (public: no secret)"
        emit(as_json, data, f"created client {issued.client.id}\nclient id: {issued.client.client_id}{secret}")

    @clients.command("list")
    def listing(as_json: JsonFlag = False):
        """List the clients (never their secrets)."""
        found = in_transaction(lambda db, rt: oidc_clients.listing(db, Actor.system()))
        data = [{"id": c.id, "clientId": c.client_id, "name": c.name, "public": c.public, "firstParty": c.first_party,
                 "redirectUris": c.redirect_uris, "postLogoutRedirectUris": c.post_logout_redirect_uris}
                for c in found]
        if as_json:
            typer.echo(json.dumps({"data": data}))
            return
        for d in data:
            kind = "public" if d["public"] else "confidential"
            typer.echo(f"{d['id']}  {d['clientId']}  {kind}{'  first-party' if d['firstParty'] else ''}  "
                       f"{d['name']}  {' '.join(d['redirectUris'])}")

    @clients.command("delete")
    def delete(client: Annotated[str, typer.Argument(help="The client's id (oidc_...).")], as_json: JsonFlag = False):
        """Delete a client; its grants and refresh tokens end with it."""
        in_transaction(lambda db, rt: oidc_clients.delete(db, rt, Actor.system(), client))
        emit(as_json, {"id": client, "deleted": True}, f"deleted client {client}")

    @keys.command("rotate")
    def rotate(as_json: JsonFlag = False):
        """Sign with a new key from now on; the old one stays in the JWKS until its tokens have expired."""
        made = in_transaction(oidc_keys.rotate)
        emit(as_json, {"kid": made.id}, f"new signing key {made.id}; the previous one stays published for "
                                        f"{int(oidc_keys.rules.KEY_OVERLAP.total_seconds() // 60)} minutes")

    return clients, oidc
