"""Request and response models of join links and join requests (DESIGN 14), beside schemas.py.
A link's token appears only in `JoinLinkIssued`, the answer to create."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from teamgate.api.schemas import (
    EmailText,
    Input,
    Name,
    Output,
    Password,
    Ref,
    RoleName,
    TeamBrief,
    TeamOut,
    Text,
    Token,
    UserOut,
    Utc,
)
from teamgate.domain.joining import MAX_DOMAINS, MAX_USES

Domain = Annotated[Text, Field(min_length=1, max_length=253)]


class JoinLinkCreate(Input):
    role: RoleName
    max_uses: Annotated[int, Field(ge=1, le=MAX_USES)] | None = None
    expires_in_days: Annotated[int, Field(ge=1, le=30)] | None = None
    allowed_domains: Annotated[list[Domain], Field(default_factory=list, max_length=MAX_DOMAINS)]
    requires_approval: bool = False


class JoinLinkOut(Output):
    id: str
    team_id: str
    role: str
    status: str = Field(description="`active`, `expired`, `used_up` or `deleted`.")
    max_uses: int | None
    uses: int
    expires_at: Utc
    allowed_domains: list[str]
    requires_approval: bool
    created_by: Ref
    created_at: Utc
    deleted_at: Utc | None


class JoinLinkIssued(JoinLinkOut):
    token: str
    url: str


class JoinLinkPreview(Output):
    """What the holder of a link sees before using it."""

    team: TeamBrief
    role: str
    expires_at: Utc
    created_by: str = Field(description="The name of whoever made the link.")
    allowed_domains: list[str]
    requires_approval: bool


class JoinIn(Input):
    token: Token
    email: EmailText | None = None
    password: Password | None = None
    first_name: Name | None = None
    last_name: Name | None = None


class JoinRequestOut(Output):
    id: str
    team_id: str
    join_link_id: str
    user_id: str
    email: str
    first_name: str
    last_name: str
    role: str
    status: str = Field(description="`unverified` (waits for the address to be verified), `pending` (waits for "
                                    "approval), `approved` or `denied`.")
    created_at: Utc
    decided_at: Utc | None
    decided_by: Ref | None


class JoinOut(Output):
    outcome: str = Field(description="`joined` (200), `pending_verification` or `pending_approval` (202).")
    user: UserOut
    team: TeamOut
    role: str
    join_request: JoinRequestOut | None
    account_created: bool
    csrf_token: str
