"""The `teamgate` command: serve, migrate, and setup commands for scripts and operators.

Each command opens its own unit of work. With --json, a command that creates something prints
exactly one JSON object; errors go to stderr with a non-zero exit code. The commands live in the
modules beside this one, by subject; here they are given their names.
"""

from __future__ import annotations

import typer

from teamgate.cli import accounts, invitations, outbox, running, webhooks
from teamgate.cli.common import emit, in_transaction
from teamgate.oidc import commands as oidc_commands

app = typer.Typer(help="teamgate: team invitations you can run yourself.", no_args_is_help=True,
                  add_completion=False)
for command in (running.serve, running.migrate, running.bootstrap, invitations.invite, running.worker):
    app.command()(command)


def _group(name: str, help: str, commands: dict) -> None:
    group = typer.Typer(help=help, no_args_is_help=True)
    for command_name, command in commands.items():
        group.command(command_name)(command)
    app.add_typer(group, name=name)


_group("users", "Manage accounts.", {"create": accounts.users_create})
_group("teams", "Manage teams.", {"create": accounts.teams_create})
_group("api-keys", "Manage API keys.", {"create": accounts.api_keys_create})
_group("outbox", "Look at and retry outgoing email and webhook deliveries.",
       {"list": outbox.outbox_list, "retry": outbox.outbox_retry})
_group("webhooks", "Manage a team's webhook endpoints.",
       {"create": webhooks.webhooks_create, "list": webhooks.webhooks_list, "delete": webhooks.webhooks_delete})
_group("server-keys", "Manage server keys: a product backend's keys across every team.",
       {"create": accounts.server_keys_create, "list": accounts.server_keys_list,
        "revoke": accounts.server_keys_revoke})

oidc_clients_app, oidc_app = oidc_commands.build(in_transaction, emit)
app.add_typer(oidc_clients_app, name="oidc-clients")
app.add_typer(oidc_app, name="oidc")


def main() -> None:
    app()
