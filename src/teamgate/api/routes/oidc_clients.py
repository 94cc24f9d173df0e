"""The OpenID Connect clients (DESIGN 13), for system owners signed in with a session: the same
service the operator's `teamgate oidc-clients` commands use. A secret leaves only in the answer
to create; API keys (which belong to one team) cannot manage what serves the whole installation."""

from __future__ import annotations

from fastapi import APIRouter, Response

from teamgate.api import oidc_schemas as o
from teamgate.http.deps import Db, Rt, SessionAuth
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import oidc_clients
from teamgate.storage.models import OidcClient

router = APIRouter(tags=["oidc-clients"], route_class=IdempotentRoute)


def client_out(c: OidcClient) -> o.OidcClientOut:
    return o.OidcClientOut(id=c.id, client_id=c.client_id, name=c.name, public=c.public, first_party=c.first_party,
                           redirect_uris=c.redirect_uris, post_logout_redirect_uris=c.post_logout_redirect_uris,
                           created_at=c.created_at)


@router.get("/oidc-clients", response_model=dict[str, list[o.OidcClientOut]])
async def list_clients(auth: SessionAuth, db: Db):
    return {"data": [client_out(c) for c in await oidc_clients.listing(db, auth.actor)]}


@router.post("/oidc-clients", response_model=o.OidcClientWithSecret, status_code=201)
async def create_client(body: o.OidcClientCreate, auth: SessionAuth, db: Db, rt: Rt, _key: Idempotent):
    issued = await oidc_clients.create(db, rt, auth.actor, name=body.name, redirect_uris=body.redirect_uris,
                                       public=body.public, first_party=body.first_party,
                                       post_logout_redirect_uris=body.post_logout_redirect_uris)
    return o.OidcClientWithSecret(**client_out(issued.client).model_dump(), client_secret=issued.secret)


@router.delete("/oidc-clients/{client_id}", status_code=204)
async def delete_client(client_id: str, auth: SessionAuth, db: Db, rt: Rt):
    await oidc_clients.delete(db, rt, auth.actor, client_id)
    return Response(status_code=204)
