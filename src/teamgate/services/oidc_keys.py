"""The provider's signing keys (DESIGN 13): RS256 key pairs made by joserfc, the private half
sealed with the outbox cipher in the database. One key is active; `rotate` retires it and makes
the next, and a retired key stays in the JWKS until every token it signed has expired."""

from __future__ import annotations

import json

import anyio
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import oidc as rules
from teamgate.domain.ids import new_id
from teamgate.runtime import Runtime
from teamgate.storage.models import OidcSigningKey
from teamgate.storage.repositories import oidc as repo

# Unsealed private keys by kid: a key never changes once made, and importing one costs more than
# signing with it. (The sealed bytes are kept beside it to notice a different key under an old kid.)
_unsealed: dict[str, tuple[bytes, RSAKey]] = {}


def _make(rt: Runtime) -> OidcSigningKey:
    kid = new_id("sig")
    key = RSAKey.generate_key(rules.KEY_BITS, parameters={"kid": kid, "alg": rules.ALGORITHM, "use": "sig"})
    private = json.dumps(key.as_dict(private=True)).encode()
    return OidcSigningKey(id=kid, private_key=rt.cipher.encrypt(private), public_jwk=key.as_dict(private=False),
                          active=True, created_at=rt.clock.now())


def _unseal(rt: Runtime, row: OidcSigningKey) -> RSAKey:
    cached = _unsealed.get(row.id)
    if cached is not None and cached[0] == row.private_key:
        return cached[1]
    key = RSAKey.import_key(json.loads(rt.cipher.decrypt(row.private_key)))
    _unsealed[row.id] = (row.private_key, key)
    return key


async def signing_key(db: AsyncSession, rt: Runtime) -> RSAKey:
    """The active private key, made on first need. Two processes making the first key at once:
    the database keeps one active key (a unique index), the loser reads the winner's."""
    row = await repo.active_key(db)
    if row is None:
        made = await anyio.to_thread.run_sync(_make, rt)  # a few tens of milliseconds of arithmetic
        try:
            async with db.begin_nested():
                db.add(made)
            row = made
        except IntegrityError:
            row = await repo.active_key(db)
    if row is None:
        raise RuntimeError("no active signing key, and none could be made")
    return _unseal(rt, row)


async def published(db: AsyncSession, rt: Runtime) -> KeySet:
    """The public keys for the JWKS: the active one, and those retired too recently for every
    token they signed to have expired. (Makes the first key if there is none yet, so the JWKS is
    never empty.)"""
    await signing_key(db, rt)
    rows = await repo.published_keys(db, rt.clock.now() - rules.KEY_OVERLAP)
    return KeySet.import_key_set({"keys": [row.public_jwk for row in rows]})


async def rotate(db: AsyncSession, rt: Runtime) -> OidcSigningKey:
    """Retire the active key (it stays published for KEY_OVERLAP) and make a new one, which signs
    from now on. Run by the operator (`teamgate oidc keys rotate`)."""
    await repo.retire_active_key(db, rt.clock.now())
    await db.flush()
    made = await anyio.to_thread.run_sync(_make, rt)
    db.add(made)
    await db.flush()
    return made
