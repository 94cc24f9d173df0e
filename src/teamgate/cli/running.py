"""The commands that run or prepare the service: serve, worker, migrate, bootstrap."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Annotated

import typer

from teamgate import errors
from teamgate.cli.common import JsonFlag, emit, fail, in_transaction, load_settings, opened
from teamgate.email.senders import make_sender
from teamgate.logs import configure as configure_logs
from teamgate.runtime import build_runtime
from teamgate.services import accounts
from teamgate.services.dispatcher import Dispatcher
from teamgate.storage.db import migrate as run_migrations
from teamgate.storage.db import unit_of_work
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.roles import UnsafeRole


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


def bootstrap(email: Annotated[str, typer.Option(help="Email of the first system owner.")], as_json: JsonFlag = False):
    """Print a one-time link that creates the first system owner."""

    async def work(db, rt):
        if await accounts_repo.count_users(db):
            raise errors.AccountExists("An account already exists; bootstrap is only for an empty installation.")
        return await accounts.new_setup_link(db, rt, email=email)

    url = in_transaction(work)
    emit(as_json, {"setupUrl": url}, f"Open this link to create the system owner {email}:\n{url}")


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
