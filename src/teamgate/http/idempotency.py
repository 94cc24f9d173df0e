"""The `Idempotency-Key` header (the IETF httpapi draft; DESIGN 14) on the API's POSTs that create
or send, so a client may repeat a request whose answer it never got without acting twice.

A route takes part in two ways, both declared where it is written:
- it takes `key: Idempotent` among its parameters, after the caller's (the caller is authenticated
  and authorised before any key is looked at);
- its router is made with `route_class=IdempotentRoute`, which keeps the route's answer once the
  route has made it, before the request's transaction commits, so the work and its kept answer
  commit together or not at all.

What a caller gets (the rules are in services/idempotency.py):
- no header: the request acts as always;
- a key it used before, within 24 hours, for the same request (method, path, query, X-Team-Id,
  body): the first answer again, status and body, with `Idempotent-Replayed: true`; nothing acts;
- the same key with another request: 422 `idempotency_key_reused`;
- while the first request with the key is still being answered: 409 `idempotency_key_in_use`;
- a refused or failed first request keeps nothing (its transaction rolled back): the key stays free.
Public routes take no key: there is no caller to keep one for, and a key shared by everybody
would let anyone read another's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ExceptionHandler

from teamgate import errors
from teamgate.domain import idempotency as rules
from teamgate.http.deps import Db, Rt, caller, runtime
from teamgate.services import idempotency
from teamgate.services.context import Actor

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
DESCRIPTION = ("A key of your choosing (a UUID, say; 1 to 255 printable ASCII characters) that makes this request "
               "safe to repeat: sent again by the same caller with the same request within 24 hours, it gets the "
               "first answer again (with `Idempotent-Replayed: true`) and nothing happens twice. The same key with "
               "another request is 422 `idempotency_key_reused`; while the first is still being answered, 409 "
               "`idempotency_key_in_use`. Only a successful answer is kept.")


@dataclass
class Held:
    """A key held by this request, and where its answer is to be kept."""

    claim: idempotency.Claim
    db: AsyncSession
    keep: bool = True

    def keep_nothing(self) -> None:
        """This answer is not kept, and the key stays free: for an answer that changed nothing (a
        dry run, a batch that rolled back), which a second request should work out afresh."""
        self.keep = False


class Replayed(Exception):  # not an error: the way out of a route with the kept answer
    def __init__(self, answer: idempotency.Answer) -> None:
        super().__init__("replayed")
        self.answer = answer


async def held_key(request: Request, db: Db, rt: Rt, actor: Annotated[Actor, Depends(caller)],
                   key: Annotated[str | None, Header(alias=HEADER, description=DESCRIPTION)] = None) -> Held | None:
    if key is None:
        return None
    # a server key's keys are those of the person and team it acts for (set by team_context, which
    # a route lists before its key, so it has run by now)
    if (who := idempotency.Caller.of(actor, getattr(request.state, "acting", None))) is None:
        raise errors.BadRequest(f"{HEADER} is taken here only from a caller acting in a team for a person.")
    fingerprint = rules.fingerprint(request.method, request.url.path, request.url.query,
                                    request.headers.get("x-team-id"), await request.body())
    found = await idempotency.begin(db, rt, who, rules.parse_key(key), fingerprint)
    if isinstance(found, idempotency.Answer):
        raise Replayed(found)
    held = Held(found, db)
    request.state.idempotency = held
    return held


Idempotent = Annotated[Held | None, Depends(held_key)]


class IdempotentRoute(APIRoute):
    """A route whose answer is kept for the key it holds (if any), in the request's transaction."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if any(d.call is held_key for d in self.dependant.dependencies):  # document the replay's header
            success = self.responses.setdefault(self.status_code or 200, {})
            success.setdefault("headers", {})[REPLAYED] = {
                "description": "`true` when this is the first answer again, for a repeated Idempotency-Key.",
                "schema": {"type": "string", "enum": ["true"]}}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        answer = super().get_route_handler()

        async def answer_and_keep(request: Request) -> Response:
            response = await answer(request)  # the transaction is still open: it ends after this returns
            held: Held | None = getattr(request.state, "idempotency", None)
            if held is not None and held.keep and 200 <= response.status_code < 300:
                await idempotency.remember(held.db, runtime(request), held.claim, idempotency.Answer(
                    response.status_code, response.headers.get("content-type", "application/json"),
                    bytes(response.body)))
            return response

        return answer_and_keep


async def on_replay(request: Request, exc: Replayed) -> Response:
    answer = exc.answer
    return Response(answer.body, status_code=answer.status,
                    headers={"content-type": answer.media_type, REPLAYED: "true"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(Replayed, cast(ExceptionHandler, on_replay))
