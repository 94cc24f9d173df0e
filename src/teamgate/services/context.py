"""Who is acting, and with which role in the current team."""

from __future__ import annotations

from dataclasses import dataclass

from teamgate import errors
from teamgate.domain.roles import PERMISSIONS, Role, RoleCatalog
from teamgate.storage.models import ApiKey, ServerKey, User


@dataclass(frozen=True)
class Actor:
    """The caller: a signed-in user, an API key, a server key, the system (CLI), or an invitee
    holding a token. A person a product acts for through its server key (DESIGN 12) is a user
    with `server_key` set: they act with their own role, and the key is named beside them."""

    kind: str
    id: str | None
    name: str
    user: User | None = None
    api_key: ApiKey | None = None
    ip: str | None = None
    user_agent: str | None = None
    server_key: ServerKey | None = None

    @property
    def is_system_owner(self) -> bool:
        """A system owner's rights are never borrowed through a server key: a product acts for a
        person only with that person's roles in their teams."""
        return self.user is not None and self.user.is_system_owner and self.server_key is None

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="system", id=None, name="teamgate")


@dataclass(frozen=True)
class TeamContext:
    """An actor acting in one team, with the role that decides what it may do there."""

    actor: Actor
    team_id: str
    role: Role
    is_owner: bool = False

    def can(self, permission: str) -> bool:
        return permission in self.role.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise errors.Forbidden(f"This needs the {permission} permission, which your role does not have.")


def system_owner_role(catalog: RoleCatalog) -> Role:
    """A system owner acts in every team with owner rights."""
    top = catalog.creator_role
    return Role(name=top.name, rank=top.rank, permissions=PERMISSIONS, owner=True)
