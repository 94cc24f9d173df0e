"""Accounts, teams and keys, for scripts and operators: users, teams, API keys, server keys."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from teamgate import errors
from teamgate.cli.common import JsonFlag, emit, fail, in_transaction
from teamgate.domain.emails import normalize_email
from teamgate.services import accounts, api_keys, server_keys, teams
from teamgate.services.context import Actor, TeamContext, system_owner_role
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.scope import act_for


def users_create(email: Annotated[str, typer.Option()], first_name: Annotated[str, typer.Option()],
                 last_name: Annotated[str, typer.Option()],
                 system_owner: Annotated[bool, typer.Option("--system-owner")] = False,
                 password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                              help="Read the password from stdin.")] = False,
                 external_id: Annotated[str | None, typer.Option(
                     help="The person's id in the product that signs them in (server keys act for them by it).")]
                 = None,
                 no_password: Annotated[bool, typer.Option(
                     "--no-password", help="No password: the product signs the person in (with --external-id).")]
                 = False,
                 as_json: JsonFlag = False):
    """Create an account (scripts; people normally join through an invitation)."""
    if no_password and (external_id is None or password_stdin):
        fail("--no-password goes with --external-id (a product's person), and without --password-stdin")
    password = None if no_password else sys.stdin.readline().rstrip("\r\n") if password_stdin else typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True, err=True)
    user = in_transaction(lambda db, rt: accounts.create_user(
        db, rt, Actor.system(), email=email, first_name=first_name, last_name=last_name, password=password,
        system_owner=system_owner, external_id=external_id))
    emit(as_json, {"id": user.id}, f"created user {user.id} <{user.email}>")


def teams_create(name: Annotated[str, typer.Option()], owner: Annotated[str, typer.Option(help="Owner's email.")],
                 seat_limit: Annotated[int | None, typer.Option(min=1)] = None, as_json: JsonFlag = False):
    """Create a team owned by an existing account."""

    async def work(db, rt):
        user = await accounts_repo.act_as_user_with_email(db, normalize_email(owner))
        if user is None:
            raise errors.NotFound(f"No account for {owner}.")
        team, _ = await teams.create(db, rt, Actor.system(), name=name, seat_limit=seat_limit, owner=user)
        return team

    team = in_transaction(work)
    emit(as_json, {"id": team.id}, f"created team {team.id} ({team.name})")


def api_keys_create(team: Annotated[str, typer.Option(help="Team id.")], role: Annotated[str, typer.Option()],
                    name: Annotated[str, typer.Option()], as_json: JsonFlag = False):
    """Create an API key; the key is shown once."""

    async def work(db, rt):
        ctx = TeamContext(actor=Actor.system(), team_id=team, role=system_owner_role(rt.catalog), is_owner=True)
        await act_for(db, team_id=team)
        if await teams_repo.team_by_id(db, team) is None:
            raise errors.NotFound(f"No team {team}.")
        return await api_keys.create(db, rt, ctx, name=name, role=role)

    issued = in_transaction(work)
    emit(as_json, {"id": issued.api_key.id, "key": issued.secret},
         f"created API key {issued.api_key.id} ({issued.api_key.role}); it is shown only now:\n{issued.secret}")


def server_keys_create(name: Annotated[str, typer.Option(help="Whose backend it is, e.g. the product's name.")],
                       as_json: JsonFlag = False):
    """Create a server key; the key is shown once. It acts across every team: keep it on the product's backend."""
    issued = in_transaction(lambda db, rt: server_keys.create(db, rt, Actor.system(), name=name))
    emit(as_json, {"id": issued.server_key.id, "key": issued.secret},
         f"created server key {issued.server_key.id} ({issued.server_key.name}); it is shown only now:\n"
         f"{issued.secret}")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def server_keys_list(as_json: JsonFlag = False):
    """List server keys (never their secrets), newest first."""
    data = [{"id": k.id, "name": k.name, "prefix": k.prefix, "createdAt": _iso(k.created_at),
             "lastUsedAt": _iso(k.last_used_at), "revokedAt": _iso(k.revoked_at)}
            for k in in_transaction(lambda db, rt: server_keys.listing(db))]
    if as_json:
        typer.echo(json.dumps({"data": data}))
        return
    for d in data:
        state = f"revoked {d['revokedAt']}" if d["revokedAt"] else f"last used {d['lastUsedAt'] or 'never'}"
        typer.echo(f"{d['id']}  {d['prefix']}...  {d['name']}  ({state})")
    if not data:
        typer.echo("no server keys", err=True)


def server_keys_revoke(key_id: Annotated[str, typer.Argument(help="Server key id (srv_...).")],
                       as_json: JsonFlag = False):
    """Revoke a server key: its next request is refused (401)."""
    key = in_transaction(lambda db, rt: server_keys.revoke(db, rt, Actor.system(), key_id))
    emit(as_json, {"id": key.id, "revoked": True}, f"revoked server key {key.id} ({key.name})")
