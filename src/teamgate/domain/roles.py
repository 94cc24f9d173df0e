"""The role catalog: ranks and permissions, the default or a deployment's TOML/JSON file."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from teamgate import errors

INVITATIONS_MANAGE, MEMBERS_MANAGE, API_KEYS_MANAGE = "invitations:manage", "members:manage", "api_keys:manage"
WEBHOOKS_MANAGE = "webhooks:manage"
PERMISSIONS = frozenset({
    INVITATIONS_MANAGE, MEMBERS_MANAGE, "tasks:manage", API_KEYS_MANAGE, "audit:read", "team:read", WEBHOOKS_MANAGE,
})


@dataclass(frozen=True)
class Role:
    name: str
    rank: int
    permissions: frozenset[str]
    owner: bool = False


class RoleCatalog:
    def __init__(self, roles: list[Role]) -> None:
        if not roles:
            raise ValueError("a role catalog needs at least one role")
        if sum(role.owner for role in roles) > 1:
            raise ValueError("at most one role may be the owner role")
        self.roles = {role.name: role for role in sorted(roles, key=lambda r: -r.rank)}

    def get(self, name: str) -> Role | None:
        return self.roles.get(name)

    @property
    def owner_role(self) -> Role | None:
        return next((role for role in self.roles.values() if role.owner), None)

    @property
    def creator_role(self) -> Role:
        """What a team's creator holds: the owner role, else the highest-ranked role."""
        return self.owner_role or next(iter(self.roles.values()))

    @property
    def top(self) -> Role:
        return next(iter(self.roles.values()))

    def successor_role(self) -> Role:
        """What a former owner becomes after a transfer: the highest role that is not the owner's."""
        return next((role for role in self.roles.values() if not role.owner), self.top)

    def grantable(self, role: Role, *, by_rank: int) -> bool:
        """A caller of rank `by_rank` may grant `role` (see `may_grant`)."""
        return may_grant(Role(name="", rank=by_rank, permissions=frozenset()), role)

    @classmethod
    def from_mapping(cls, data: dict) -> RoleCatalog:
        roles = []
        for name, spec in (data.get("roles") or {}).items():
            unknown = set(spec.get("permissions", [])) - PERMISSIONS
            if unknown:
                raise ValueError(f"role {name!r} has unknown permissions: {sorted(unknown)}")
            roles.append(Role(name=name, rank=int(spec["rank"]), owner=bool(spec.get("owner", False)),
                              permissions=frozenset(spec.get("permissions", []))))
        return cls(roles)

    @classmethod
    def load(cls, path: Path | None) -> RoleCatalog:
        if path is None:
            return DEFAULT_CATALOG
        text = Path(path).read_text()
        data = json.loads(text) if str(path).endswith(".json") else tomllib.loads(text)
        return cls.from_mapping(data)


DEFAULT_CATALOG = RoleCatalog([
    Role("owner", 100, PERMISSIONS, owner=True),
    Role("admin", 50, PERMISSIONS),
    Role("member", 10, frozenset({"team:read"})),
])


# --- Who may grant or act on which role (DESIGN section 3). Every rank check the services make
# is one of these, so a change to a rule is a change here, and tests/domain pins each one.

def never_granted(role: Role) -> bool:
    """The owner role moves only by ownership transfer: no invitation, role change or key grants it."""
    return role.owner


def may_grant(granter: Role, role: Role) -> bool:
    """Grant `role` by invitation, role change or API key: only at or below the granter's own
    rank, and never the owner role."""
    return not never_granted(role) and role.rank <= granter.rank


def may_manage(actor: Role, held: Role | None) -> bool:
    """Act on a member, invitation or API key that holds `held`: only at or below the actor's own
    rank. A role the catalog no longer has grants nothing, so it protects nothing either."""
    return held is None or held.rank <= actor.rank


def may_invite(inviter: Role, role: Role) -> bool:
    """Whoever invites (and, on accept, whoever invited) manages invitations and may grant the role."""
    return INVITATIONS_MANAGE in inviter.permissions and may_grant(inviter, role)


def exceeds(held: Role | None, limit: Role) -> bool:
    """`held` is more than `limit`: ranked above it, or holding a permission it lacks (custom
    catalogs may have roles of one rank with different rights). An unknown role is nothing."""
    return held is not None and (held.rank > limit.rank or not held.permissions <= limit.permissions)


def ensure_may_invite(inviter: Role, role: Role) -> None:
    """Create and resend: the role must be one the inviter may grant. Raises RoleNotAllowed."""
    if never_granted(role):
        raise errors.RoleNotAllowed("The owner role is never granted by invitation; transfer ownership instead.")
    if not may_grant(inviter, role):
        raise errors.RoleNotAllowed(f"You may grant only roles at or below your own ({inviter.name}).")


def ensure_may_change_role(actor: Role, *, held: Role | None, new: Role, holds_ownership: bool) -> None:
    """A member's role changes only between roles at or below the actor's own; the owner role
    moves only by transfer. Raises RoleNotAllowed."""
    if holds_ownership or never_granted(new):
        raise errors.RoleNotAllowed("The owner role moves only by ownership transfer.")
    if not (may_grant(actor, new) and may_manage(actor, held)):
        raise errors.RoleNotAllowed(f"You may manage only roles at or below your own ({actor.name}).")


def ensure_may_remove(actor: Role, *, held: Role | None, holds_ownership: bool, leaving: bool) -> None:
    """Anyone but the owner may leave; removing someone else needs a rank at or above theirs.
    Raises RoleNotAllowed."""
    if holds_ownership:
        raise errors.RoleNotAllowed("The owner cannot be removed; transfer ownership first.")
    if not leaving and not may_manage(actor, held):
        raise errors.RoleNotAllowed("You may remove only members whose role is at or below your own.")


def may_transfer_ownership(*, is_owner: bool, by_api_key: bool) -> bool:
    """Only the owner (or a system owner, who acts as one) in person: never through an API key."""
    return is_owner and not by_api_key


class KeyChange(StrEnum):
    """What happens to an API key when its maker's role changes (DESIGN section 10)."""

    KEEP = "keep"
    LOWER = "lower"
    REVOKE = "revoke"


def key_after_maker_change(key_role: Role | None, maker: Role) -> KeyChange:
    """A key acts with at most its maker's rights: one that exceeds the maker's new role is
    lowered to it, or revoked when that role cannot manage keys (the maker could neither make
    nor revoke such a key any more)."""
    if not exceeds(key_role, maker):
        return KeyChange.KEEP
    return KeyChange.LOWER if API_KEYS_MANAGE in maker.permissions else KeyChange.REVOKE
