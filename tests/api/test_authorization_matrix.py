"""The authorization matrix: who may call each /api/v1 route that needs a caller (DESIGN.md 5 and 6).

Each route is one test. It walks every kind of caller past the route:

- nobody (no cookie, no key);
- a member, an admin and the owner of our team, signed in (cookie + X-CSRF-Token);
- an admin of another team, signed in, naming our team in X-Team-Id;
- that same admin, and an admin key of that other team, acting in their own team on our ids
  (only for the routes that take an id: invitations, tasks, members, API keys);
- API keys of our team holding each role a key may hold: member (in X-API-Key) and admin (as
  Authorization: Bearer). No key holds the owner role; the catalog refuses it (see the last
  test). And a revoked key, which is nobody;
- our admin signed in but writing without X-CSRF-Token;
- a server key (DESIGN 12) acting for our member, for our admin, for the other team's admin in our
  team, for that admin in their own team on our ids, and for nobody (no X-Acting-User); a revoked
  server key; and our admin key and our admin's session each sending X-Acting-User, which only a
  server key may send.

What each caller should get is a table (`EXPECTED`): one row per caller, one column per kind of
route (any signed-in person; any member of the team; holders of the route's permission; the
owner; server keys only). A refused caller must get the problem+json status and stable code from the table and
leave the database byte for byte as it was, the other team's rows included. An allowed caller
must get a 2xx, acting on a record made just for it (`prepare`), so one caller's success never
changes what the next caller sees. The owner goes last: its transfer of ownership is the one
success that changes who the others are.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from teamgate import errors
from tests.factories import (PASSWORD, Team, acting, add_member, dump_database, issue_api_key, issue_server_key,
                             key_headers, make_api_key, make_team, problem, revoke_server_key, sign_in)

API = "/api/v1"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


# --- outcomes -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: int | None = None  # None: any 2xx
    code: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status is None

    def __str__(self) -> str:
        return "2xx" if self.allowed else f"{self.status} {self.code}"


ALLOWED = Outcome()
UNAUTHENTICATED = Outcome(401, "unauthenticated")
FORBIDDEN = Outcome(403, "forbidden")
CSRF_FAILED = Outcome(403, "csrf_failed")
NOT_FOUND = Outcome(404, "not_found")
ID_NOT_FOUND = Outcome(404, "<the route's not-found code>")  # resolved per route: not_found or invitation_not_found
READS_ONLY = Outcome(0, "<2xx on reads, 403 csrf_failed on writes>")  # resolved per route
NOT_EVEN_READS = Outcome(0, "<403 forbidden on reads, 403 csrf_failed on writes>")  # resolved per route


# --- who may call: the four kinds of route, and what each caller gets from each -------------------

SIGNED_IN = 0  # any signed-in person (session routes: logout, me, teams)
MEMBER = 1     # any member of the current team, or any key of it (team:read)
MANAGER = 2    # holders of the route's permission (invitations/members/tasks/api_keys:manage, audit:read)
OWNER = 3      # the team's owner, signed in
SYSTEM = 4     # a system owner, signed in (the installation's OpenID Connect clients): nobody here is one
SERVER = 5     # server keys only (who is who: a person by externalId)

EXPECTED: dict[str, tuple[Outcome | None, ...]] = {
    #                          SIGNED_IN        MEMBER           MANAGER          OWNER            SYSTEM           SERVER
    "anonymous":              (UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
    "member":                 (ALLOWED,         ALLOWED,         FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN),
    "admin":                  (ALLOWED,         ALLOWED,         ALLOWED,         FORBIDDEN,       FORBIDDEN,       FORBIDDEN),
    "stranger":               (ALLOWED,         NOT_FOUND,       NOT_FOUND,       NOT_FOUND,       FORBIDDEN,       FORBIDDEN),
    "stranger_at_home":       (None,            ID_NOT_FOUND,    ID_NOT_FOUND,    None,            None,            None),
    "member_key":             (FORBIDDEN,       ALLOWED,         FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN),
    "admin_key":              (FORBIDDEN,       ALLOWED,         ALLOWED,         FORBIDDEN,       FORBIDDEN,       FORBIDDEN),
    "stranger_key":           (None,            ID_NOT_FOUND,    ID_NOT_FOUND,    None,            None,            None),
    "revoked_key":            (UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
    "admin_without_csrf":     (READS_ONLY,      READS_ONLY,      READS_ONLY,      CSRF_FAILED,     NOT_EVEN_READS,  FORBIDDEN),
    # a server key acting for a person has that person's rights in the team, and no session
    "server_as_member":       (FORBIDDEN,       ALLOWED,         FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       ALLOWED),
    "server_as_admin":        (FORBIDDEN,       ALLOWED,         ALLOWED,         FORBIDDEN,       FORBIDDEN,       ALLOWED),
    "server_as_stranger":     (FORBIDDEN,       NOT_FOUND,       NOT_FOUND,       NOT_FOUND,       FORBIDDEN,       ALLOWED),
    "server_as_stranger_at_home": (None,        ID_NOT_FOUND,    ID_NOT_FOUND,    None,            None,            None),
    "server_for_nobody":      (FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       ALLOWED),
    "revoked_server_key":     (UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
    "admin_key_acting":       (FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN),
    "admin_acting":           (FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN,       FORBIDDEN),
    "owner":                  (ALLOWED,         ALLOWED,         ALLOWED,         ALLOWED,         FORBIDDEN,       FORBIDDEN),
}  # None: the caller has nothing to try on that kind of route


@dataclass
class Caller:
    row: str  # its row in EXPECTED
    name: str  # as it reads in a failure message
    client: httpx.AsyncClient
    headers: dict[str, str] = field(default_factory=dict)


# --- the world every route test starts from --------------------------------------------------------

@dataclass
class World:
    """Our team (Acme) with its people and keys, another team (Globex), and the callers."""

    harness: object
    team: Team
    other: Team
    setup: httpx.AsyncClient  # makes the fresh records callers act on, with an admin key of our team
    callers: list[Caller]
    serial: itertools.count = field(default_factory=lambda: itertools.count(1))

    def unique(self, stem: str) -> str:
        return f"{stem}{next(self.serial)}"


async def signed_in(harness, person, **headers: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
    client = harness.client()
    return client, {**await sign_in(client, person), **headers}


async def build_world(harness) -> World:
    rt = harness.rt
    team = await make_team(rt, "owner@acme.example", name="Acme", owner_external_id="u-owner")
    member = await add_member(rt, team.id, "member@acme.example", role="member", external_id="u-member")
    admin = await add_member(rt, team.id, "admin@acme.example", role="admin", external_id="u-admin")
    other = await make_team(rt, "owner@globex.example", name="Globex")
    stranger = await add_member(rt, other.id, "admin@globex.example", role="admin", external_id="u-stranger")
    server = (await issue_server_key(rt)).secret
    revoked_server = await issue_server_key(rt, name="old")
    await revoke_server_key(rt, revoked_server.server_key.id)
    admin_key = await make_api_key(rt, team.id, role="admin")

    setup = harness.client()
    setup.headers.update(key_headers(await make_api_key(rt, team.id, role="admin", name="setup")))

    def key_caller(row: str, name: str, secret: str, *, bearer: bool = False) -> Caller:
        headers = {"Authorization": f"Bearer {secret}"} if bearer else key_headers(secret)
        return Caller(row, name, harness.client(), headers)

    revoked = await issue_api_key(rt, team.id, role="admin", name="old")
    assert (await setup.delete(f"{API}/api-keys/{revoked.api_key.id}")).status_code == 200

    member_client, member_csrf = await signed_in(harness, member)
    admin_client, admin_csrf = await signed_in(harness, admin)
    owner_client, owner_csrf = await signed_in(harness, team.owner)
    stranger_client, stranger_csrf = await signed_in(harness, stranger, **{"X-Team-Id": team.id})
    home_client, home_csrf = await signed_in(harness, stranger)  # its active team is Globex
    bare_client, _ = await signed_in(harness, admin)  # a second session of our admin, used without the header
    acting_client, acting_csrf = await signed_in(harness, admin)  # a third, that tries to act for someone
    callers = [
        Caller("anonymous", "nobody (no cookie, no key)", harness.client()),
        Caller("member", "our member (session)", member_client, member_csrf),
        Caller("admin", "our admin (session)", admin_client, admin_csrf),
        Caller("stranger", "another team's admin (session) naming our team in X-Team-Id", stranger_client,
               stranger_csrf),
        Caller("stranger_at_home", "another team's admin (session) in its own team, with our id", home_client,
               home_csrf),
        key_caller("member_key", "our member-role API key", await make_api_key(rt, team.id, role="member")),
        key_caller("admin_key", "our admin-role API key (Bearer)", admin_key, bearer=True),
        key_caller("stranger_key", "another team's admin-role API key, with our id",
                   await make_api_key(rt, other.id, role="admin")),
        key_caller("revoked_key", "our revoked admin-role API key", revoked.secret),
        Caller("admin_without_csrf", "our admin (session) without X-CSRF-Token", bare_client),
        Caller("server_as_member", "a server key acting for our member", harness.client(),
               acting(server, team.id, "u-member")),
        Caller("server_as_admin", "a server key acting for our admin", harness.client(),
               acting(server, team.id, "u-admin")),
        Caller("server_as_stranger", "a server key acting in our team for another team's admin", harness.client(),
               acting(server, team.id, "u-stranger")),
        Caller("server_as_stranger_at_home", "a server key acting for another team's admin in it, with our id",
               harness.client(), acting(server, other.id, "u-stranger")),
        Caller("server_for_nobody", "a server key naming our team but no person", harness.client(),
               acting(server, team.id)),
        Caller("revoked_server_key", "a revoked server key acting for our admin", harness.client(),
               acting(revoked_server.secret, team.id, "u-admin")),
        Caller("admin_key_acting", "our admin-role API key sending X-Acting-User", harness.client(),
               {**key_headers(admin_key), "X-Acting-User": "u-admin"}),
        Caller("admin_acting", "our admin (session) sending X-Acting-User", acting_client,
               {**acting_csrf, "X-Acting-User": "u-admin"}),
        Caller("owner", "our owner (session)", owner_client, owner_csrf),  # last: see the module docstring
    ]
    return World(harness, team, other, setup, callers)


# --- fresh records, one per caller -----------------------------------------------------------------

Prepared = tuple[str | None, dict | None]  # the id in the path (ids joined by "/" for a path with two), the JSON body
Prepare = Callable[[World], Awaitable[Prepared]]


async def nothing(world: World) -> Prepared:
    return None, None


def body(make: Callable[[World], dict]) -> Prepare:
    async def prepare(world: World) -> Prepared:
        return None, make(world)
    return prepare


async def fresh_member(world: World) -> str:
    return (await add_member(world.harness.rt, world.team.id, f"{world.unique('person')}@acme.example")).id


async def fresh_task(world: World) -> str:
    response = await world.setup.post(f"{API}/tasks", json={"title": world.unique("Task ")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def fresh_invitation(world: World) -> str:
    response = await world.setup.post(f"{API}/team-invitations", json={
        "email": f"{world.unique('invitee')}@example.com", "role": "member", "sendEmail": False})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def fresh_key(world: World) -> str:
    return (await issue_api_key(world.harness.rt, world.team.id, role="member", name=world.unique("key "))).api_key.id


async def fresh_webhook(world: World) -> str:
    response = await world.setup.post(f"{API}/webhooks", json={"url": f"https://{world.unique('hooks')}.example.com/in"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def failed_webhook_delivery(world: World) -> str:
    """A webhook and a failed delivery of it (what a retry needs), as "webhook id/delivery id"."""
    from sqlalchemy import update

    from teamgate.storage.models import OutboxMessage

    webhook_id = await fresh_webhook(world)
    response = await world.setup.post(f"{API}/webhooks/{webhook_id}/test")
    assert response.status_code == 202, response.text
    delivery_id = response.json()["id"]
    async with world.harness.owner() as db:
        await db.execute(update(OutboxMessage).where(OutboxMessage.id == delivery_id).values(status="failed"))
    return f"{webhook_id}/{delivery_id}"


async def fresh_oidc_client(world: World) -> str:
    """An OpenID Connect client, made by the operator (nobody in the world may delete it)."""
    from teamgate.services import oidc_clients
    from teamgate.services.context import Actor

    async with world.harness.owner() as db:
        issued = await oidc_clients.create(db, world.harness.rt, Actor.system(), name=world.unique("App "),
                                           redirect_uris=["https://app.example/callback"])
    return issued.client.id


async def fresh_join_link(world: World) -> str:
    response = await world.setup.post(f"{API}/join-links", json={"role": "member"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def fresh_join_request(world: World) -> str:
    """A new person who used a link that asks for approval, waiting in our team's queue."""
    link = await world.setup.post(f"{API}/join-links", json={"role": "member", "requiresApproval": True})
    assert link.status_code == 201, link.text
    asked = await world.harness.client().post(f"{API}/join-links/accept", json={
        "token": link.json()["token"], "email": f"{world.unique('asker')}@example.com",
        "password": "a long new password", "firstName": "A", "lastName": "Sker"})
    assert asked.status_code == 202, asked.text
    return asked.json()["joinRequest"]["id"]


async def an_external_id(world: World) -> str:
    return "u-member"


def target(make: Callable[[World], Awaitable[str]], json: dict | None = None) -> Prepare:
    async def prepare(world: World) -> Prepared:
        return await make(world), json
    return prepare


async def a_new_owner(world: World) -> Prepared:
    return None, {"userId": await fresh_member(world)}


async def fresh_owner_session(world: World) -> str:
    """A session of our owner's: the owner may end it; anyone else's attempt is someone else's session."""
    from teamgate.services import accounts
    from teamgate.storage.db import unit_of_work
    from teamgate.storage.models import User
    from teamgate.storage.scope import act_for

    rt = world.harness.rt
    async with unit_of_work(rt.sessions) as db:
        await act_for(db, user_id=world.team.owner.id)
        signed_in = await accounts.start_session(db, rt, await db.get(User, world.team.owner.id))
    return signed_in.session.id


# --- the routes ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to /api/v1; "{id}" is the record `prepare` made
    who: int  # SIGNED_IN, MEMBER, MANAGER, OWNER, SYSTEM or SERVER
    prepare: Prepare = nothing
    missing: str = "not_found"  # the code for an id that is not in the caller's team
    exceptions: dict[str, Outcome] = field(default_factory=dict)  # where the route departs from its column

    def __str__(self) -> str:
        return f"{self.method} {API}{self.path}"

    @property
    def takes_id(self) -> bool:
        return "{id}" in self.path

    def expected(self, caller: Caller) -> Outcome | None:
        outcome = self.exceptions.get(caller.row, EXPECTED[caller.row][self.who])
        if outcome is None or (outcome is ID_NOT_FOUND and not self.takes_id):
            return None  # nothing to try: a caller from another team can bring our ids only to routes that take one
        if outcome is ID_NOT_FOUND:
            return Outcome(404, self.missing)
        if outcome is READS_ONLY:
            return CSRF_FAILED if self.method in WRITES else ALLOWED
        if outcome is NOT_EVEN_READS:
            return CSRF_FAILED if self.method in WRITES else FORBIDDEN
        return outcome


ROUTES = [
    Route("POST", "/auth/logout", SIGNED_IN),
    Route("GET", "/me", SIGNED_IN),
    Route("PATCH", "/me", SIGNED_IN, body(lambda w: {"firstName": w.unique("Renamed ")})),
    # our admin's password change and sign-out everywhere end its other session, the one used without the header
    Route("POST", "/me/password", SIGNED_IN, body(lambda w: {"currentPassword": PASSWORD, "newPassword": PASSWORD}),
          exceptions={"admin_without_csrf": UNAUTHENTICATED, "admin_acting": UNAUTHENTICATED}),
    Route("POST", "/auth/logout-all", SIGNED_IN,
          exceptions={"admin_without_csrf": UNAUTHENTICATED, "admin_acting": UNAUTHENTICATED}),
    Route("GET", "/me/sessions", SIGNED_IN),
    Route("DELETE", "/me/sessions/{id}", SIGNED_IN, target(fresh_owner_session),  # only the owner's own is found
          exceptions={"member": NOT_FOUND, "admin": NOT_FOUND, "stranger": NOT_FOUND}),
    Route("POST", "/me/verify-email", SIGNED_IN),
    Route("PUT", "/me/active-team", SIGNED_IN, body(lambda w: {"teamId": w.team.id}),
          exceptions={"stranger": NOT_FOUND}),  # choosing a team you are not in
    Route("POST", "/teams", SIGNED_IN, body(lambda w: {"name": w.unique("Team ")})),
    Route("GET", "/teams", SIGNED_IN),
    Route("GET", "/team", MEMBER),
    Route("GET", "/team-members", MEMBER),
    Route("PATCH", "/team-members/{id}", MANAGER, target(fresh_member, {"role": "admin"})),
    Route("DELETE", "/team-members/{id}", MANAGER, target(fresh_member)),
    Route("POST", "/team/transfer-ownership", OWNER, a_new_owner),
    Route("GET", "/tasks", MEMBER),
    Route("POST", "/tasks", MANAGER, body(lambda w: {"title": w.unique("New task ")})),
    Route("GET", "/tasks/{id}", MEMBER, target(fresh_task)),
    Route("PATCH", "/tasks/{id}", MANAGER, target(fresh_task, {"title": "Renamed"})),
    Route("DELETE", "/tasks/{id}", MANAGER, target(fresh_task)),
    Route("GET", "/api-keys", MANAGER),
    Route("POST", "/api-keys", MANAGER, body(lambda w: {"name": w.unique("ci "), "role": "member"}),
          exceptions={"admin_key": FORBIDDEN, "server_as_admin": FORBIDDEN}),  # a key cannot make a key
    Route("DELETE", "/api-keys/{id}", MANAGER, target(fresh_key)),
    Route("GET", "/audit-events", MANAGER),
    Route("GET", "/team-invitations", MANAGER),
    Route("POST", "/team-invitations", MANAGER,
          body(lambda w: {"email": f"{w.unique('new')}@example.com", "role": "member", "sendEmail": False})),
    Route("POST", "/team-invitations/bulk", MANAGER, body(lambda w: {"invitations": [
        {"email": f"{w.unique('many')}@example.com", "role": "member"}], "sendEmail": False})),
    Route("GET", "/team-invitations/{id}", MANAGER, target(fresh_invitation), missing="invitation_not_found"),
    Route("DELETE", "/team-invitations/{id}", MANAGER, target(fresh_invitation), missing="invitation_not_found"),
    Route("POST", "/team-invitations/{id}/resend", MANAGER, target(fresh_invitation), missing="invitation_not_found"),
    Route("GET", "/join-links", MANAGER),
    Route("POST", "/join-links", MANAGER, body(lambda w: {"role": "member", "maxUses": 3})),
    Route("DELETE", "/join-links/{id}", MANAGER, target(fresh_join_link)),
    Route("GET", "/join-requests", MANAGER),
    Route("POST", "/join-requests/{id}/approve", MANAGER, target(fresh_join_request)),
    Route("POST", "/join-requests/{id}/deny", MANAGER, target(fresh_join_request)),
    Route("GET", "/webhooks", MANAGER),
    Route("POST", "/webhooks", MANAGER, body(lambda w: {"url": f"https://{w.unique('new')}.example.com/hook"})),
    Route("GET", "/webhooks/{id}", MANAGER, target(fresh_webhook)),
    Route("PATCH", "/webhooks/{id}", MANAGER, target(fresh_webhook, {"description": "Renamed"})),
    Route("DELETE", "/webhooks/{id}", MANAGER, target(fresh_webhook)),
    Route("POST", "/webhooks/{id}/rotate-secret", MANAGER, target(fresh_webhook)),
    Route("POST", "/webhooks/{id}/test", MANAGER, target(fresh_webhook)),
    Route("GET", "/webhooks/{id}/deliveries", MANAGER, target(fresh_webhook)),
    Route("POST", "/webhooks/{id}/deliveries/{id}/retry", MANAGER, target(failed_webhook_delivery)),
    Route("GET", "/oidc-clients", SYSTEM),
    Route("POST", "/oidc-clients", SYSTEM, body(lambda w: {"name": w.unique("App "),
                                                           "redirectUris": ["https://app.example/callback"]})),
    Route("DELETE", "/oidc-clients/{id}", SYSTEM, target(fresh_oidc_client)),
    Route("GET", "/users/by-external-id/{id}", SERVER, target(an_external_id)),
]

# The routes anyone may call: the matrix has nothing to refuse there.
PUBLIC = {"POST /api/v1/auth/login", "POST /api/v1/setup", "GET /api/v1/team-invitations/validate/{id}",
          "POST /api/v1/team-invitations/accept", "POST /api/v1/team-invitations/decline",
          "POST /api/v1/auth/password-reset", "POST /api/v1/auth/password-reset/confirm",
          "POST /api/v1/auth/verify-email", "POST /api/v1/team-invitations/request-renewal",
          "GET /api/v1/join-links/validate/{id}", "POST /api/v1/join-links/accept"}


# --- the check ------------------------------------------------------------------------------------

async def mismatches(world: World, route: Route) -> list[str]:
    """Every caller tries the route; returns what went otherwise than EXPECTED, one line each."""
    tries = [(caller, expected, await route.prepare(world)) for caller in world.callers
             if (expected := route.expected(caller)) is not None]  # every caller's record exists before anyone calls
    found, snapshot = [], None
    for caller, expected, (record_id, json) in tries:
        if not expected.allowed and snapshot is None:
            snapshot = await dump_database(world.harness)
        path = API + route.path
        for one_id in (record_id or "").split("/"):  # a nested route's ids in order (webhook, delivery)
            path = path.replace("{id}", one_id, 1)
        response = await caller.client.request(route.method, path, headers=caller.headers, json=json)
        where = f"{route} as {caller.name}"
        if expected.allowed:
            snapshot = None  # a success changes the database: the next refusal starts from a new snapshot
            if not 200 <= response.status_code < 300:
                found.append(f"{where}: expected {expected}, got {response.status_code} {response.text}")
            continue
        is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
        got = (response.status_code, response.json().get("code") if is_problem else None)
        if got != (expected.status, expected.code):
            found.append(f"{where}: expected {expected}, got {response.status_code} {response.text}")
        if (after := await dump_database(world.harness)) != snapshot:
            found.append(f"{where}: should have changed nothing, yet the database changed")
        snapshot = after
    return found


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_each_caller_gets_exactly_what_the_matrix_allows_and_a_refusal_changes_nothing(harness, route):
    world = await build_world(harness)
    found = await mismatches(world, route)
    assert not found, "\n".join(found)


async def test_the_matrix_covers_every_api_route_that_needs_a_caller(harness):
    """A route added to the API without a row here fails this test, not silently the matrix."""
    published = harness.app.openapi()["paths"]
    served = {f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path)}"
              for path, operations in published.items() if path.startswith(API + "/") for method in operations}
    assert served - PUBLIC == {str(route) for route in ROUTES}


async def test_a_cookie_write_without_the_csrf_header_is_refused_and_changes_nothing(harness):
    world = await build_world(harness)
    admin = next(c for c in world.callers if c.row == "admin")
    before = await dump_database(harness)
    response = await admin.client.post(f"{API}/tasks", json={"title": "Sneaky"})  # the cookie alone
    problem(response, 403, "csrf_failed")
    response = await admin.client.post(f"{API}/tasks", json={"title": "Sneaky"}, headers={"X-CSRF-Token": "forged"})
    problem(response, 403, "csrf_failed")
    assert await dump_database(harness) == before
    with_header = await admin.client.post(f"{API}/tasks", json={"title": "Honest"}, headers=admin.headers)
    assert with_header.status_code == 201, with_header.text


async def test_no_api_key_can_hold_the_owner_role(harness):
    """Which is why the matrix has member and admin keys but no owner key."""
    world = await build_world(harness)
    owner = next(c for c in world.callers if c.row == "owner")
    admin = next(c for c in world.callers if c.row == "admin")
    before = await dump_database(harness)
    for caller in (owner, admin):
        response = await caller.client.post(f"{API}/api-keys", json={"name": "root", "role": "owner"},
                                            headers=caller.headers)
        problem(response, 403, "role_not_allowed")
    assert await dump_database(harness) == before
    with pytest.raises(errors.RoleNotAllowed):
        await make_api_key(harness.rt, world.team.id, role="owner")
