"""Pieces several routers share: pagination parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from teamgate import errors
from teamgate.api.schemas import decode_cursor


@dataclass(frozen=True)
class Paging:
    limit: int
    after_id: str | None


async def paging(limit: Annotated[int, Query(ge=1, le=100)] = 50,
                 cursor: Annotated[str | None, Query(max_length=80)] = None) -> Paging:
    try:
        return Paging(limit, decode_cursor(cursor))
    except ValueError:
        raise errors.ValidationFailed("cursor", "is not a cursor this API returned") from None


Pages = Annotated[Paging, Depends(paging)]

