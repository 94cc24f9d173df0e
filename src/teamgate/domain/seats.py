"""The seat limit (DESIGN 4 and 14): members, pending invitations and open join requests together
may not exceed a team's `seat_limit`. Each pending invitation and each open join request holds the
seat its person will take, so turning one into a membership needs no new seat."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeatsUsed:
    members: int
    pending_invitations: int
    open_join_requests: int

    @property
    def total(self) -> int:
        return self.members + self.pending_invitations + self.open_join_requests


def has_room(limit: int | None, used: int, adding: int = 1) -> bool:
    """No limit, or room for `adding` more seats beside the `used` ones."""
    return limit is None or used + adding <= limit
