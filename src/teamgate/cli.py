"""The `teamgate` command: serve, migrate, and setup commands for scripts and operators.

Each command opens its own unit of work. With --json, a command that creates something prints
exactly one JSON object; errors go to stderr with a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.config import Settings, WeakSecretKey
from teamgate.domain.bulk import RowOutcome, read_list
from teamgate.domain.delivery import Channel, OutboxStatus
from teamgate.domain.delivery import channel as channel_of
from teamgate.domain.emails import normalize_email
from teamgate.email.senders import make_sender
from teamgate.logs import configure as configure_logs
from teamgate.oidc import commands as oidc_commands
from teamgate.runtime import Runtime, build_runtime
from teamgate.services import accounts, api_keys, bulk_invitations, invitations, outbox, server_keys, teams, webhooks
from teamgate.services.context import Actor, TeamContext, system_owner_role
from teamgate.services.dispatcher import Dispatcher
from teamgate.storage.db import migrate as run_migrations
from teamgate.storage.db import migrations_current, unit_of_work
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.roles import UnsafeRole, refuse_privileged_role
from teamgate.storage.scope import act_for

app = typer.Typer(help="teamgate: team invitations you can run yourself.", no_args_is_help=True,
                  add_completion=False)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
teams_app = typer.Typer(help="Manage teams.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
outbox_app = typer.Typer(help="Look at and retry outgoing email and webhook deliveries.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Manage a team's webhook endpoints.", no_args_is_help=True)
server_keys_app = typer.Typer(help="Manage server keys: a product backend's keys across every team.",
                              no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(teams_app, name="teams")
app.add_typer(keys_app, name="api-keys")
app.add_typer(outbox_app, name="outbox")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(server_keys_app, name="server-keys")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The settings, refused with a readable message (never the value) when one is wrong; the secret
    key is read now, so a short one stops every command before it does anything."""
    try:
        settings = Settings()
        settings.secret  # noqa: B018 (an unset key is generated here, in the data directory)
    except ValidationError as exc:
        fail("; ".join(f"TEAMGATE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
                       for e in exc.errors()))
    except WeakSecretKey as exc:
        fail(str(exc))
    return settings


@asynccontextmanager
async def opened(settings: Settings | None = None, *, service: bool = False) -> AsyncIterator[Runtime]:
    """A runtime on a current schema: the embedded SQLite is migrated on the spot; a PostgreSQL
    behind the code is refused (its migrations run as the owner, with `teamgate migrate`).

    The service (`serve`, `worker`) connects with TEAMGATE_DATABASE_URL and refuses a role that
    row-level security would not bind; operator commands connect as the owner when one is set."""
    settings = settings or load_settings()
    rt = build_runtime(settings, database_url=None if service else settings.migration_database)
    try:
        if settings.is_sqlite:
            await run_migrations(rt.engine)
        elif not await migrations_current(rt.engine):
            fail("the database schema is not current: run `teamgate migrate` first")
        elif service and not settings.development:
            try:
                await refuse_privileged_role(rt.engine)
            except UnsafeRole as exc:
                fail(str(exc))
        yield rt
    finally:
        await rt.engine.dispose()


def in_transaction(work: Callable[[AsyncSession, Runtime], Awaitable[Any]]) -> Any:
    """Run `work` in one committed transaction; domain errors become a message on stderr."""

    async def main() -> Any:
        async with opened() as rt, unit_of_work(rt.sessions) as db:
            return await work(db, rt)

    try:
        return asyncio.run(main())
    except errors.TeamgateError as exc:
        fail(f"{exc.code}: {exc.detail}")


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    typer.echo(json.dumps(data) if as_json else human)


async def _team_context(db: AsyncSession, rt: Runtime, team_id: str, as_email: str | None) -> TeamContext:
    """The CLI acts as a named member (by default the team's owner), so the usual rules apply."""
    await act_for(db, team_id=team_id)
    if as_email is None:
        owner = await teams_repo.owner(db, team_id)
        if owner is None:
            raise errors.NotFound(f"No team {team_id}.")
        user = await accounts_repo.user_by_id(db, owner.user_id)
        if user is None:
            raise errors.NotFound(f"No owner account for team {team_id}.")
    else:
        user = await accounts_repo.act_as_user_with_email(db, normalize_email(as_email))
        if user is None:
            raise errors.NotFound(f"No account for {as_email}.")
    return await teams.context_for(db, rt, Actor(kind="user", id=user.id, name=user.name, user=user), team_id)


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
          port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
          workers: Annotated[int | None, typer.Option(min=1, help="Processes sharing the port.")] = None,
          no_dispatcher: Annotated[bool, typer.Option("--no-dispatcher",
                                                      help="Leave email to `teamgate worker`.")] = False):
    """Run the API, the pages and (unless told not to) the email dispatcher. SIGTERM lets the
    requests in flight finish (up to 30 s) and the dispatcher finish the message in hand."""
    import tempfile

    import uvicorn

    # the options become settings, so that every worker process reads the same ones
    for name, value in {"HOST": host, "PORT": port, "WORKERS": workers}.items():
        if value is not None:
            os.environ[f"TEAMGATE_{name}"] = str(value)
    if no_dispatcher:
        os.environ["TEAMGATE_DISPATCHER"] = "false"
    settings = load_settings()
    configure_logs(settings.log_format, settings.log_level)
    if settings.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # /metrics sums all workers
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="teamgate-metrics-")

    async def prepare() -> str | None:
        async with opened(settings, service=True) as rt, unit_of_work(rt.sessions) as db:
            if await accounts_repo.count_users(db) == 0:
                return await accounts.new_setup_link(db, rt)
            return None

    setup_link = asyncio.run(prepare())
    engine = "SQLite" if settings.is_sqlite else "PostgreSQL"
    typer.echo(f"teamgate: {engine} database, {settings.email_backend} email, "
               f"listening on http://{settings.host}:{settings.port}")
    if setup_link:
        typer.echo(f"\nNo account exists yet. Open this one-time link to create the first system owner:\n\n"
                   f"  {setup_link}\n")
    uvicorn.run("teamgate.app:app_from_environment", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, proxy_headers=False, log_config=None, access_log=False,
                timeout_graceful_shutdown=30)


@app.command()
def migrate():
    """Bring the database schema to the newest migration."""

    settings = load_settings()

    async def main() -> str | None:
        rt = build_runtime(settings, database_url=settings.migration_database)
        try:
            separate = settings.migration_database_url is not None
            return await run_migrations(rt.engine, service_url=settings.database if separate else None)
        except UnsafeRole as exc:
            fail(str(exc))
        finally:
            await rt.engine.dispose()

    role = asyncio.run(main())
    typer.echo("database schema is current", err=True)
    if role:
        typer.echo(f"service role {role!r}: can log in, owns nothing, cannot bypass row-level security", err=True)
    elif not settings.is_sqlite:
        typer.echo("warning: one database URL for migrations and the service: row-level security is not in force "
                   "for a role that owns the tables or bypasses it. Set TEAMGATE_MIGRATION_DATABASE_URL to the "
                   "owner and TEAMGATE_DATABASE_URL to a service role.", err=True)


@app.command()
def bootstrap(email: Annotated[str, typer.Option(help="Email of the first system owner.")], as_json: JsonFlag = False):
    """Print a one-time link that creates the first system owner."""

    async def work(db, rt):
        if await accounts_repo.count_users(db):
            raise errors.AccountExists("An account already exists; bootstrap is only for an empty installation.")
        return await accounts.new_setup_link(db, rt, email=email)

    url = in_transaction(work)
    emit(as_json, {"setupUrl": url}, f"Open this link to create the system owner {email}:\n{url}")


@users_app.command("create")
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


@teams_app.command("create")
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


@keys_app.command("create")
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


@app.command()
def invite(team: Annotated[str, typer.Option(help="Team id.")],
           email: Annotated[str | None, typer.Option(help="Whom to invite (or --csv for many).")] = None,
           role: Annotated[str | None, typer.Option(help="The role (with --csv: for rows that name none).")] = None,
           task: Annotated[list[str] | None, typer.Option("--task", help="Task id to assign (repeatable).")] = None,
           no_email: Annotated[bool, typer.Option("--no-email", help="Do not send; print the link.")] = False,
           expires_in_days: Annotated[int | None, typer.Option(min=1, max=30)] = None,
           csv_file: Annotated[Path | None, typer.Option(
               "--csv", dir_okay=False, help="Invite everyone in a CSV file: email, role, tasks (titles or ids, "
                                             "several separated by ;); a first line naming them is optional.")] = None,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="With --csv: say what would happen, change "
                                                                   "nothing.")] = False,
           as_user: Annotated[str | None, typer.Option(
               "--as", help="Inviter's email (default: the team's owner).")] = None,
           as_json: JsonFlag = False):
    """Invite someone to a team, or everyone in a CSV file. The email is queued; a running `serve`
    or `worker` sends it. With --csv, each row is invited on its own (a refused row does not stop
    the others) and the exit code is 1 when any row was refused."""
    if csv_file is not None:
        invite_list(team, csv_file, role=role, no_email=no_email, expires_in_days=expires_in_days, dry_run=dry_run,
                    as_user=as_user, as_json=as_json)
        return
    if email is None or role is None:
        fail("give --email and --role, or --csv FILE")

    async def work(db, rt):
        ctx = await _team_context(db, rt, team, as_user)
        issued = await invitations.create(db, rt, ctx, email=email, role=role, task_ids=task or [],
                                          expires_in_days=expires_in_days, send_email=not no_email)
        return issued, rt.settings.invite_url(issued.token)

    issued, url = in_transaction(work)
    emit(as_json, {"id": issued.invitation.id, "token": issued.token, "acceptUrl": url},
         f"invited {issued.invitation.email} as {issued.invitation.role} ({issued.invitation.id})\n{url}")


def invite_list(team: str, path: Path, *, role: str | None, no_email: bool, expires_in_days: int | None,
                dry_run: bool, as_user: str | None, as_json: bool) -> None:
    try:
        listed = read_list(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    if not listed:
        fail(f"{path} names nobody")

    async def work(db, rt):
        ctx = await _team_context(db, rt, team, as_user)
        rows = await bulk_invitations.rows_from_list(db, ctx, listed, default_role=role or "",
                                                     expires_in_days=expires_in_days)
        return await bulk_invitations.create_many(db, rt, ctx, rows, send_email=not no_email,
                                                  dry_run=dry_run), rt.settings.invite_url

    batch, invite_url = in_transaction(work)
    results, lines = [], []
    for r, row in zip(batch.results, listed, strict=True):
        shown: dict[str, Any] = {"index": r.index, "line": row.line, "email": r.email, "outcome": str(r.outcome)}
        said = "would be invited"
        if r.issued is not None:
            shown.update(id=r.issued.invitation.id, token=r.issued.token, acceptUrl=invite_url(r.issued.token))
            said = f"invited ({r.issued.invitation.id})" + (f" {shown['acceptUrl']}" if no_email else "")
        if r.error is not None:
            shown["error"] = {"code": r.error.code, "detail": r.error.detail, "errors": r.error.errors,
                              **r.error.extra}
            said = f"not invited: {r.error.code}: {r.error.detail}"
        results.append(shown)
        lines.append(f"line {row.line}: {r.email}: {said}")
    summary = {"created": batch.count(RowOutcome.CREATED), "wouldCreate": batch.count(RowOutcome.WOULD_CREATE),
               "errors": batch.count(RowOutcome.ERROR), "seatsUsedAfter": batch.seats_used,
               "seatLimit": batch.seat_limit, "dryRun": batch.dry_run}
    lines.append(f"dry run, nothing changed: {summary['wouldCreate']} would be invited, {summary['errors']} refused"
                 if dry_run else f"{summary['created']} invited, {summary['errors']} refused")
    emit(as_json, {"results": results, "summary": summary}, "\n".join(lines))
    if summary["errors"]:
        raise typer.Exit(1)


@app.command()
def worker(batch_size: Annotated[int, typer.Option(min=1, max=500, help="Messages per batch.")] = 20,
           poll_seconds: Annotated[float, typer.Option(min=0.1, help="Look for due messages this often.")] = 5.0):
    """Send queued email: the dispatcher alone. Run as many as you like against one PostgreSQL;
    each message goes to exactly one of them. SIGTERM or Ctrl-C stops it after the batch in hand."""
    settings = load_settings()
    configure_logs(settings.log_format, settings.log_level)

    async def main() -> None:
        async with opened(settings, service=True) as rt:
            dispatcher = Dispatcher(rt, make_sender(settings), batch_size=batch_size, poll_seconds=poll_seconds)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, dispatcher.request_stop)
            typer.echo(f"teamgate worker: sending {settings.email_backend} email", err=True)
            await dispatcher.run_forever()
            typer.echo("teamgate worker: stopped", err=True)

    asyncio.run(main())


*_OTHERS, _LAST = OutboxStatus
OUTBOX_STATUSES = f"{', '.join(_OTHERS)} or {_LAST}."  # queued, sending, sent, failed or cancelled.


@outbox_app.command("list")
def outbox_list(status: Annotated[str | None, typer.Option(help=OUTBOX_STATUSES)] = OutboxStatus.FAILED.value,
                kind: Annotated[str, typer.Option(help="email, webhook or all.")] = "all",
                limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100, as_json: JsonFlag = False):
    """List outbox messages (by default the failed ones), newest first: emails, and webhook
    deliveries (their recipient is the endpoint's id, their subject the event type)."""
    if kind not in (*Channel, "all"):
        fail(f"--kind must be email, webhook or all, not {kind!r}", 2)
    channel = Channel(kind) if kind != "all" else None
    rows = in_transaction(lambda db, rt: outbox.page(db, status=status if status != "all" else None, limit=limit,
                                                     channel=channel))
    data = [{"id": r.id, "kind": channel_of(r.kind), "status": r.status, "recipient": r.recipient,
             "subject": r.subject, "attempts": r.attempts, "lastError": r.last_error,
             "lastErrorCode": r.last_error_code, "invitationId": r.invitation_id, "eventId": r.event_id,
             "createdAt": r.created_at.isoformat()}
            for r in rows]
    if as_json:
        typer.echo(json.dumps({"data": data}))
        return
    for d in data:
        what = f"{d['recipient']}  {d['subject']}" if d["kind"] == Channel.WEBHOOK else d["recipient"]
        typer.echo(f"{d['id']}  {d['kind']:<7} {d['status']:<9} {d['attempts']:>2}x  {what}  {d['lastError'] or ''}")
    if not data:
        typer.echo(f"no {status or ''} messages".replace("  ", " "), err=True)


@outbox_app.command("retry")
def outbox_retry(ids: Annotated[list[str] | None, typer.Argument(
                     help="Message ids (default: every failed one).")] = None,
                 as_json: JsonFlag = False):
    """Queue failed messages again with a fresh set of attempts; a running dispatcher sends them."""
    result = in_transaction(lambda db, rt: outbox.retry(db, rt, Actor.system(), ids=ids or None))
    if as_json:
        typer.echo(json.dumps({"retried": result.retried, "skipped": result.skipped}))
        return
    typer.echo(f"queued again: {len(result.retried)}")
    for message_id, why in result.skipped.items():
        typer.echo(f"skipped {message_id}: {why}", err=True)


async def _operator_in(db: AsyncSession, rt: Runtime, team: str) -> TeamContext:
    """The operator acting in `team` with owner rights (NotFound when there is no such team)."""
    await act_for(db, team_id=team)
    if await teams_repo.team_by_id(db, team) is None:
        raise errors.NotFound(f"No team {team}.")
    return TeamContext(actor=Actor.system(), team_id=team, role=system_owner_role(rt.catalog), is_owner=True)


@webhooks_app.command("create")
def webhooks_create(team: Annotated[str, typer.Option(help="Team id.")], url: Annotated[str, typer.Option()],
                    event: Annotated[list[str] | None, typer.Option(
                        "--event", help="Event type to send (repeatable; default: all).")] = None,
                    description: Annotated[str, typer.Option()] = "", as_json: JsonFlag = False):
    """Add a webhook endpoint; its signing secret is shown once."""

    async def work(db, rt):
        return await webhooks.create(db, rt, await _operator_in(db, rt, team), url=url, events=event or [],
                                     description=description)

    issued = in_transaction(work)
    emit(as_json, {"id": issued.endpoint.id, "secret": issued.secret},
         f"created webhook {issued.endpoint.id}; its signing secret is shown only now:\n{issued.secret}")


@webhooks_app.command("list")
def webhooks_list(team: Annotated[str, typer.Option(help="Team id.")], as_json: JsonFlag = False):
    """List a team's webhook endpoints (never their secrets), newest first."""

    async def work(db, rt):
        return await webhooks.page(db, await _operator_in(db, rt, team), limit=1000, after_id=None)

    data = [{"id": e.id, "url": e.url, "events": e.events, "enabled": e.disabled_at is None,
             "description": e.description} for e in in_transaction(work)]
    if as_json:
        typer.echo(json.dumps({"data": data}))
        return
    for d in data:
        typer.echo(f"{d['id']}  {'enabled ' if d['enabled'] else 'disabled'}  {d['url']}  "
                   f"{','.join(d['events']) or 'all events'}")


@webhooks_app.command("delete")
def webhooks_delete(webhook_id: Annotated[str, typer.Argument(help="Webhook id.")],
                    team: Annotated[str, typer.Option(help="Team id.")], as_json: JsonFlag = False):
    """Delete a webhook endpoint and its deliveries."""

    async def work(db, rt):
        await webhooks.delete(db, rt, await _operator_in(db, rt, team), webhook_id)

    in_transaction(work)
    emit(as_json, {"id": webhook_id, "deleted": True}, f"deleted webhook {webhook_id}")


@server_keys_app.command("create")
def server_keys_create(name: Annotated[str, typer.Option(help="Whose backend it is, e.g. the product's name.")],
                       as_json: JsonFlag = False):
    """Create a server key; the key is shown once. It acts across every team: keep it on the product's backend."""
    issued = in_transaction(lambda db, rt: server_keys.create(db, rt, Actor.system(), name=name))
    emit(as_json, {"id": issued.server_key.id, "key": issued.secret},
         f"created server key {issued.server_key.id} ({issued.server_key.name}); it is shown only now:\n"
         f"{issued.secret}")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


@server_keys_app.command("list")
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


@server_keys_app.command("revoke")
def server_keys_revoke(key_id: Annotated[str, typer.Argument(help="Server key id (srv_...).")],
                       as_json: JsonFlag = False):
    """Revoke a server key: its next request is refused (401)."""
    key = in_transaction(lambda db, rt: server_keys.revoke(db, rt, Actor.system(), key_id))
    emit(as_json, {"id": key.id, "revoked": True}, f"revoked server key {key.id} ({key.name})")


oidc_clients_app, oidc_app = oidc_commands.build(in_transaction, emit)
app.add_typer(oidc_clients_app, name="oidc-clients")
app.add_typer(oidc_app, name="oidc")


def main() -> None:
    app()
