"""Idempotency keys (DESIGN 14): a caller's request sent again with the same key gets the first
answer again instead of acting twice.

`begin` runs in the request's own transaction before the work: it holds the key until that
transaction ends (a second request with it meanwhile is refused, 409), and finds the first
answer if one was kept. `remember` keeps the answer in the same transaction as the work it
reports, so the two commit together or not at all: a request that fails or rolls back leaves no
answer behind, and the key may be used again. Answers are sealed with the outbox cipher (they
may hold a link token, an API key or a webhook secret) and purged once they expire."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import idempotency as rules
from teamgate.domain.ids import new_id
from teamgate.runtime import Runtime
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.models import IdempotencyRecord
from teamgate.storage.repositories import idempotency as repo
from teamgate.storage.scope import act_for

log = logging.getLogger("teamgate.idempotency")


@dataclass(frozen=True)
class Caller:
    """Whose keys these are: an API key (its rows behind its team's wall), a person signed in
    (their rows behind their own, whichever team they act in), or a server key acting for a
    person in a team (DESIGN 12): the key, the team and the person together, behind that team's
    wall, so a product's backend keeps one set of keys per person and team it acts for, apart from
    that person's own sessions. Keys of two callers never meet."""

    name: str
    team_id: str | None = None
    user_id: str | None = None

    @classmethod
    def of(cls, actor: Actor, acting: TeamContext | None = None) -> Caller | None:
        """`actor` as it authenticated; `acting`, the team context a server key acts in (its
        person is `acting.actor`). None when there is no one to scope a key to."""
        if actor.server_key is not None:
            person = acting.actor.user if acting is not None else None
            if acting is None or person is None or acting.actor.server_key is None:
                return None  # a server key outside a team acts for no one a key could belong to
            return cls(f"server_key:{actor.server_key.id}:{acting.team_id}:{person.id}", team_id=acting.team_id)
        if actor.api_key is not None:
            return cls(f"api_key:{actor.api_key.id}", team_id=actor.api_key.team_id)
        if actor.user is not None:
            return cls(f"user:{actor.user.id}", user_id=actor.user.id)
        return None  # no one to scope a key to (a public route)

    async def scope(self, db: AsyncSession) -> None:
        await act_for(db, team_id=self.team_id, user_id=self.user_id)


@dataclass(frozen=True)
class Claim:
    """A key held for one request: what `remember` needs to keep its answer."""

    caller: Caller
    key_hash: bytes
    fingerprint: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    media_type: str
    body: bytes


async def begin(db: AsyncSession, rt: Runtime, caller: Caller, key: str, fingerprint: bytes) -> Claim | Answer:
    """Hold `key` for this request: the first answer when one is kept (replay it, do nothing),
    else a Claim to do the work under. Raises IdempotencyKeyInUse (a request with the key is in
    flight) and IdempotencyKeyReused (the key was used for another request)."""
    key_hash = rules.key_hash(key)
    await caller.scope(db)
    if not await repo.try_lock(db, caller.name, key_hash):
        raise errors.IdempotencyKeyInUse("A request with this Idempotency-Key is still being answered; "
                                         "try again in a moment to get its answer.")
    found = await repo.find(db, caller.name, key_hash)
    if found is None:
        return Claim(caller, key_hash, fingerprint)
    if found.expires_at > rt.clock.now() and found.fingerprint != fingerprint:
        raise errors.IdempotencyKeyReused("This Idempotency-Key was used for a different request; use a new key "
                                          "for a new request.")
    try:
        if found.expires_at > rt.clock.now():
            return Answer(found.status_code, found.media_type, rt.cipher.decrypt(found.response))
    except InvalidToken:  # sealed under a secret key since replaced: it cannot be answered again
        log.warning("idempotency.answer_unreadable", extra={"caller": caller.name})
    await repo.remove(db, found)  # expired (not purged yet) or unreadable: as if the key was never used
    return Claim(caller, key_hash, fingerprint)


async def remember(db: AsyncSession, rt: Runtime, claim: Claim, answer: Answer) -> None:
    """Keep `answer` for the claim's key until it expires, in the caller's transaction."""
    now = rt.clock.now()
    await claim.caller.scope(db)  # the work may have moved the transaction's scope; the row is the caller's
    repo.add(db, IdempotencyRecord(
        id=new_id("idem"), caller=claim.caller.name, team_id=claim.caller.team_id, user_id=claim.caller.user_id,
        key_hash=claim.key_hash, fingerprint=claim.fingerprint, status_code=answer.status,
        media_type=answer.media_type, response=rt.cipher.encrypt(answer.body), created_at=now,
        expires_at=now + rules.TTL))
    try:
        await db.flush()
    except IntegrityError:  # only if the key's lock was not held: never answer twice for one key
        raise errors.IdempotencyKeyInUse("A request with this Idempotency-Key was answered meanwhile.") from None


async def purge(db: AsyncSession, rt: Runtime) -> int:
    """Erase every caller's expired answers (the upkeep's job). Returns how many."""
    return await repo.purge(db, rt.clock.now())
