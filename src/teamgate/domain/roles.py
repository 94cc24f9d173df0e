"""The role catalog: ranks and permissions, the default or a deployment's TOML/JSON file."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

PERMISSIONS = frozenset({
    "invitations:manage", "members:manage", "tasks:manage", "api_keys:manage", "audit:read", "team:read",
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
        """A caller may grant only roles at or below its own rank, and never the owner role."""
        return not role.owner and role.rank <= by_rank

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
