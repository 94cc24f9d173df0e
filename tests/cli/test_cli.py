"""The real `teamgate` console script, run as a subprocess, on SQLite and on a throwaway PostgreSQL database.

What it makes must work through the app: the setup link, the API key, the invitation token.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from teamgate.app import create_app
from teamgate.config import Settings
from teamgate.email.senders import MemorySender
from tests.conftest import IN_CI, PG_SERVER, _migrate, _pg_available, _run_admin

TEAMGATE = shutil.which("teamgate", path=str(Path(sys.executable).parent)) or shutil.which("teamgate")
SECRET = "cli-test-secret-key-not-for-production"
PASSWORD = "correct horse battery staple"


@dataclass
class Cli:
    """One installation: a data directory, a database, and the environment the command sees."""

    env: dict[str, str]
    cwd: Path
    database_url: str

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([TEAMGATE, *args], input=stdin, capture_output=True, text=True, env=self.env,
                              cwd=self.cwd, timeout=120)

    def ok(self, *args: str, stdin: str | None = None) -> dict:
        """Run a --json command that must succeed; return the one JSON object it printed."""
        done = self.run(*args, "--json", stdin=stdin)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # fails unless stdout is exactly one JSON document

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """Run a --json command that must fail; return its stderr."""
        done = self.run(*args, "--json", stdin=stdin)
        assert done.returncode != 0, done.stdout
        assert done.stdout == ""
        assert done.stderr.startswith("error: "), done.stderr
        return done.stderr

    def user(self, email: str = "olivia@example.com", *extra: str) -> str:
        return self.ok("users", "create", "--email", email, "--first-name", "Olivia", "--last-name", "Owner",
                       "--password-stdin", *extra, stdin=PASSWORD + "\n")["id"]

    def team(self, owner: str = "olivia@example.com", name: str = "Acme") -> str:
        return self.ok("teams", "create", "--name", name, "--owner", owner)["id"]

    def app(self):
        """The web app on the same database, to check what the CLI made."""
        settings = Settings(_env_file=None, database_url=self.database_url, data_dir=self.cwd / "data",
                            email_backend="memory", secret_key=SECRET, base_url="http://127.0.0.1:8000",
                            argon2_memory_kib=1024, argon2_time_cost=1)
        return create_app(settings, sender=MemorySender(), run_dispatcher=False)


async def call_app(cli: Cli, method: str, path: str, **kwargs) -> httpx.Response:
    app = cli.app()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as c:
            return await c.request(method, path, **kwargs)
    finally:
        await app.state.rt.engine.dispose()


def base_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMGATE_")}
    env.update(TEAMGATE_DATA_DIR=str(data / "data"), TEAMGATE_SECRET_KEY=SECRET, TEAMGATE_ARGON2_MEMORY_KIB="1024",
               TEAMGATE_ARGON2_TIME_COST="1", TEAMGATE_EMAIL_BACKEND="file", TEAMGATE_EMAIL_DIR=str(data / "mail"),
               TEAMGATE_BASE_URL="http://127.0.0.1:8000")
    return env


@contextmanager
def installation(engine: str, where: Path) -> Iterator[Cli]:
    """An empty installation: SQLite in `where`, or a throwaway PostgreSQL database."""
    env = base_env(where)
    if engine == "sqlite":
        yield Cli(env=env, cwd=where, database_url=f"sqlite:///{where / 'data' / 'teamgate.db'}")
        return
    if not _pg_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable at {PG_SERVER}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER}")
    name = f"teamgate_cli_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_run_admin(f'CREATE DATABASE "{name}"'))
    env["TEAMGATE_DATABASE_URL"] = f"{PG_SERVER}/{name}"
    try:
        yield Cli(env=env, cwd=where, database_url=env["TEAMGATE_DATABASE_URL"])
    finally:
        asyncio.run(_run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate_in_process(cli: Cli) -> None:
    """Faster than a subprocess; `teamgate migrate` itself has its own test."""
    (cli.cwd / "data").mkdir(exist_ok=True)
    asyncio.run(_migrate(Settings(_env_file=None, database_url=cli.database_url).database))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request) -> str:
    return request.param


@pytest.fixture
def cli(engine, tmp_path) -> Iterator[Cli]:
    """A fresh, empty installation (not even migrated)."""
    with installation(engine, tmp_path) as fresh:
        yield fresh


@pytest.fixture
def migrated(cli) -> Cli:
    """A fresh installation with the schema in place and no account."""
    migrate_in_process(cli)
    return cli


@dataclass
class Acme:
    cli: Cli
    team_id: str


@pytest.fixture(scope="module")
def acme(engine, tmp_path_factory) -> Iterator[Acme]:
    """One installation per engine shared by this module's tests: Olivia owns the team Acme.
    Tests add to it (each with its own emails and names) and never rely on what others added."""
    with installation(engine, tmp_path_factory.mktemp("acme")) as shared:
        migrate_in_process(shared)
        shared.user("olivia@example.com")
        yield Acme(cli=shared, team_id=shared.team("olivia@example.com"))


def test_the_console_script_is_installed():
    assert TEAMGATE is not None


def test_migrate_brings_the_schema_up_and_can_run_again(cli):
    first, second = cli.run("migrate"), cli.run("migrate")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "current" in second.stderr


async def test_bootstrap_prints_one_json_object_whose_setup_link_works(migrated):
    printed = migrated.ok("bootstrap", "--email", "root@example.com")
    assert list(printed) == ["setupUrl"]
    assert printed["setupUrl"].startswith("http://127.0.0.1:8000/setup?token=")
    response = await call_app(migrated, "POST", "/api/v1/setup", json={
        "token": printed["setupUrl"].split("token=", 1)[1], "email": "root@example.com", "password": PASSWORD,
        "firstName": "Rita", "lastName": "Root"})
    assert response.status_code == 201, response.text
    assert response.json()["user"]["isSystemOwner"] is True


def test_bootstrap_is_refused_once_an_account_exists(acme):
    assert "account_exists" in acme.cli.fails("bootstrap", "--email", "root@example.com")


async def test_users_create_reads_the_password_from_stdin(migrated):
    printed = migrated.ok("users", "create", "--email", "Root@Example.com", "--first-name", "Rita", "--last-name",
                          "Root", "--system-owner", "--password-stdin", stdin=PASSWORD + "\n")
    assert list(printed) == ["id"] and printed["id"].startswith("usr_")
    response = await call_app(migrated, "POST", "/api/v1/auth/login",
                              json={"email": "root@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert (response.json()["user"]["id"], response.json()["user"]["isSystemOwner"]) == (printed["id"], True)


def test_a_duplicate_user_is_an_error_on_stderr(acme):
    assert "account_exists" in acme.cli.fails("users", "create", "--email", "OLIVIA@example.com", "--first-name",
                                              "O", "--last-name", "O", "--password-stdin", stdin=PASSWORD + "\n")


def test_a_weak_password_is_refused(acme):
    assert "validation_error" in acme.cli.fails("users", "create", "--email", "weak@example.com", "--first-name",
                                                "A", "--last-name", "B", "--password-stdin", stdin="short\n")


async def test_teams_create_makes_the_named_account_the_owner(acme):
    acme.cli.user("tom@example.com")
    team_id = acme.cli.team("tom@example.com", name="Tom's team")
    assert team_id.startswith("team_") and team_id != acme.team_id
    key = acme.cli.ok("api-keys", "create", "--team", team_id, "--role", "admin", "--name", "ci")["key"]
    response = await call_app(acme.cli, "GET", "/api/v1/team-members", headers={"X-API-Key": key})
    assert [(m["email"], m["role"], m["isOwner"]) for m in response.json()["data"]] == [
        ("tom@example.com", "owner", True)]


def test_a_team_for_an_unknown_owner_is_an_error(acme):
    assert "not_found" in acme.cli.fails("teams", "create", "--name", "Ghosts", "--owner", "ghost@example.com")


async def test_api_keys_create_prints_a_key_that_works(acme):
    printed = acme.cli.ok("api-keys", "create", "--team", acme.team_id, "--role", "admin", "--name", "ci")
    assert sorted(printed) == ["id", "key"]
    assert printed["id"].startswith("key_") and printed["key"].startswith("tgk_")
    response = await call_app(acme.cli, "GET", "/api/v1/team", headers={"Authorization": f"Bearer {printed['key']}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == acme.team_id


def test_an_api_key_for_an_unknown_team_is_an_error(acme):
    assert "not_found" in acme.cli.fails("api-keys", "create", "--team", "team_nope", "--role", "admin",
                                         "--name", "x")


def test_an_api_key_with_the_owner_role_is_an_error(acme):
    assert "role_not_allowed" in acme.cli.fails("api-keys", "create", "--team", acme.team_id, "--role", "owner",
                                                "--name", "x")


async def test_invite_prints_a_token_that_validates_through_the_app(acme):
    printed = acme.cli.ok("invite", "--team", acme.team_id, "--email", "ivy@example.com", "--role", "member",
                          "--no-email")
    assert sorted(printed) == ["acceptUrl", "id", "token"]
    assert printed["id"].startswith("inv_")
    assert printed["acceptUrl"] == f"http://127.0.0.1:8000/invite?token={printed['token']}"
    response = await call_app(acme.cli, "GET", f"/api/v1/team-invitations/validate/{printed['token']}")
    assert response.status_code == 200, response.text
    preview = response.json()
    assert (preview["id"], preview["email"], preview["role"], preview["team"]["name"]) == (
        printed["id"], "ivy@example.com", "member", "Acme")


def test_a_second_identical_invite_is_an_error(acme):
    args = ("invite", "--team", acme.team_id, "--email", "twice@example.com", "--role", "member", "--no-email")
    acme.cli.ok(*args)
    assert "invitation_pending" in acme.cli.fails(*args)


def test_an_invite_to_an_unknown_team_is_an_error(acme):
    assert "not_found" in acme.cli.fails("invite", "--team", "team_nope", "--email", "x@example.com", "--role",
                                         "member", "--no-email")


def test_invite_csv_dry_run_then_create_prints_each_rows_outcome(acme):
    people = acme.cli.cwd / "people.csv"
    people.write_text("email,role\ncsv-ivy@example.com,admin\ncsv-jo@example.com\nnot-an-email,member\n")
    preview = acme.cli.run("invite", "--team", acme.team_id, "--csv", str(people), "--role", "member", "--dry-run",
                           "--json")
    assert preview.returncode == 1  # a row was refused
    shown = json.loads(preview.stdout)
    assert [(r["line"], r["outcome"]) for r in shown["results"]] == [(2, "would_create"), (3, "would_create"),
                                                                     (4, "error")]
    assert shown["results"][2]["error"]["code"] == "validation_error"
    summary = shown["summary"]  # the module's team is shared: its seats are what earlier tests left
    assert (summary["created"], summary["wouldCreate"], summary["errors"], summary["dryRun"]) == (0, 2, 1, True)
    assert summary["seatsUsedAfter"] >= 3 and summary["seatLimit"] is None
    people.write_text("email,role\ncsv-ivy@example.com,admin\ncsv-jo@example.com\n")
    done = acme.cli.ok("invite", "--team", acme.team_id, "--csv", str(people), "--role", "member", "--no-email")
    assert [(r["email"], r["outcome"]) for r in done["results"]] == [("csv-ivy@example.com", "created"),
                                                                     ("csv-jo@example.com", "created")]
    assert all(r["acceptUrl"].endswith(r["token"]) and r["id"].startswith("inv_") for r in done["results"])
    human = acme.cli.run("invite", "--team", acme.team_id, "--csv", str(people), "--role", "member")
    assert human.returncode == 1 and "line 2: csv-ivy@example.com: not invited: invitation_pending" in human.stdout


def test_invite_needs_an_email_and_a_role_or_a_csv_file(acme):
    assert "--csv" in acme.cli.fails("invite", "--team", acme.team_id, "--email", "x@example.com")
    assert "names nobody" in acme.cli.fails("invite", "--team", acme.team_id, "--csv", "/dev/null")


async def test_webhooks_create_list_and_delete(acme):
    printed = acme.cli.ok("webhooks", "create", "--team", acme.team_id, "--url", "https://hooks.example.com/in",
                          "--event", "invitation.accepted", "--event", "membership.created")
    assert sorted(printed) == ["id", "secret"]
    assert printed["id"].startswith("whk_") and printed["secret"].startswith("whsec_")
    listed = acme.cli.ok("webhooks", "list", "--team", acme.team_id)["data"]
    mine = next(d for d in listed if d["id"] == printed["id"])
    assert mine["events"] == ["invitation.accepted", "membership.created"] and mine["enabled"]
    assert printed["secret"] not in json.dumps(listed)
    assert "validation_error" in acme.cli.fails("webhooks", "create", "--team", acme.team_id, "--url",
                                                "http://hooks.example.com/in")
    assert acme.cli.ok("webhooks", "delete", printed["id"], "--team", acme.team_id) == {"id": printed["id"],
                                                                                      "deleted": True}
    assert "not_found" in acme.cli.fails("webhooks", "delete", printed["id"], "--team", acme.team_id)


async def test_server_keys_create_list_and_revoke(acme):
    """A server key is printed once, works through the app, is listed without its secret, and dies revoked."""
    acme.cli.ok("users", "create", "--email", "product.admin@example.com", "--first-name", "Pat", "--last-name",
                "Admin", "--external-id", "u-pat", "--no-password")
    printed = acme.cli.ok("server-keys", "create", "--name", "Partman")
    assert sorted(printed) == ["id", "key"]
    assert printed["id"].startswith("srv_") and printed["key"].startswith("tgs_")
    person = await call_app(acme.cli, "GET", "/api/v1/users/by-external-id/u-pat",
                            headers={"Authorization": f"Bearer {printed['key']}"})
    assert person.status_code == 200, person.text
    assert person.json()["email"] == "product.admin@example.com" and person.json()["memberships"] == []
    listed = acme.cli.ok("server-keys", "list")["data"]
    mine = next(d for d in listed if d["id"] == printed["id"])
    assert mine["name"] == "Partman" and mine["prefix"] == printed["key"][:8] and mine["lastUsedAt"]
    assert printed["key"] not in json.dumps(listed) and printed["key"][8:] not in json.dumps(listed)
    assert acme.cli.ok("server-keys", "revoke", printed["id"]) == {"id": printed["id"], "revoked": True}
    refused = await call_app(acme.cli, "GET", "/api/v1/users/by-external-id/u-pat",
                             headers={"Authorization": f"Bearer {printed['key']}"})
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    assert next(d for d in acme.cli.ok("server-keys", "list")["data"] if d["id"] == printed["id"])["revokedAt"]
    assert "not_found" in acme.cli.fails("server-keys", "revoke", "srv_01JZZZZZZZZZZZZZZZZZZZZZZZ")
    assert "validation_error" in acme.cli.fails("server-keys", "create", "--name", " ")


def test_an_account_without_password_needs_an_external_id_and_ids_are_unique(acme):
    assert "--no-password" in acme.cli.fails("users", "create", "--email", "nopass@example.com", "--first-name",
                                             "No", "--last-name", "Pass", "--no-password")
    acme.cli.ok("users", "create", "--email", "first.ext@example.com", "--first-name", "A", "--last-name", "B",
                "--external-id", "u-unique", "--no-password")
    assert "account_exists" in acme.cli.fails("users", "create", "--email", "second.ext@example.com",
                                              "--first-name", "A", "--last-name", "B", "--external-id", "u-unique",
                                              "--no-password")
    assert "validation_error" in acme.cli.fails("users", "create", "--email", "third.ext@example.com",
                                                "--first-name", "A", "--last-name", "B", "--external-id", "a/b",
                                                "--no-password")
