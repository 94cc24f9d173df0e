"""Request and response models. Inputs are closed (unknown fields refused) and bounded;
JSON is camelCase (snake_case accepted on input); times are UTC with a `Z`."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from teamgate.domain.passwords import MAX_LENGTH as PASSWORD_MAX
from teamgate.domain.text import EXTERNAL_ID, text_problem


def _no_control_characters(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _no_control_characters_but_line_breaks(value: str) -> str:
    if problem := text_problem(value, multiline=True):
        raise ValueError(problem)
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]
MultilineText = Annotated[str, AfterValidator(_no_control_characters_but_line_breaks)]
Name = Annotated[Text, Field(min_length=1, max_length=100)]
EmailText = Annotated[Text, Field(min_length=1, max_length=320)]
Password = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
Token = Annotated[str, Field(min_length=1, max_length=128)]
Ident = Annotated[Text, Field(min_length=1, max_length=40)]
ExternalId = Annotated[str, Field(pattern=f"^{EXTERNAL_ID.pattern}$", min_length=1, max_length=255)]
RoleName = Annotated[Text, Field(min_length=1, max_length=64)]
Utc = Annotated[datetime, PlainSerializer(  # RFC 3339 in UTC to the second; isoformat is a third faster than strftime
    lambda d: d.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z", return_type=str)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class Output(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True,
                              from_attributes=True)


T = TypeVar("T")


class Page(Output, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


_CURSOR_ID = re.compile(r"[A-Za-z]+_[0-9A-Za-z]+")  # an id: prefix, underscore, base32 (never NUL or non-ASCII)


def decode_cursor(cursor: str | None) -> str | None:
    """The id a page continues after; None for the first page. ValueError if it is not ours."""
    if not cursor:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("invalid cursor") from None
    if len(value) > 40 or not _CURSOR_ID.fullmatch(value):
        raise ValueError("invalid cursor")
    return value


# --- inputs -------------------------------------------------------------------------------

class LoginIn(Input):
    email: EmailText
    password: Password


class SetupIn(Input):
    token: Token
    email: EmailText
    password: Password
    first_name: Name
    last_name: Name


class ActiveTeamIn(Input):
    team_id: Ident


class TeamCreate(Input):
    name: Name
    seat_limit: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class MemberUpdate(Input):
    role: RoleName


class TransferIn(Input):
    user_id: Ident


class TaskCreate(Input):
    title: Annotated[Text, Field(min_length=1, max_length=200)]
    description: Annotated[MultilineText, Field(max_length=5000)] = ""
    assignee_ids: Annotated[list[Ident], Field(max_length=100)] = []


class TaskUpdate(Input):
    title: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[MultilineText, Field(max_length=5000)] | None = None
    assignee_ids: Annotated[list[Ident], Field(max_length=100)] | None = None


class ApiKeyCreate(Input):
    name: Name
    role: RoleName


class InvitationFields(Input):
    """Whom to invite, as what: a single create's fields, and each row of a bulk create."""

    email: EmailText
    role: RoleName
    task_ids: Annotated[list[Ident], Field(max_length=100)] = []
    expires_in_days: Annotated[int, Field(ge=1, le=30)] | None = None


class InvitationCreate(InvitationFields):
    send_email: bool = True
    # a product's page to continue at after accepting on /invite (DESIGN 13); its origin must be a
    # registered OpenID Connect client's redirect origin or in TEAMGATE_ALLOWED_REDIRECT_ORIGINS
    redirect_url: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None


class ResendIn(Input):
    expires_in_days: Annotated[int, Field(ge=1, le=30)] | None = None
    send_email: bool = True


class OnBehalfIn(Input):
    """The person a product signed in, whom its server key accepts for (DESIGN 12)."""

    external_id: ExternalId = Field(description="The person's id in the product (case matters).")
    email: EmailText = Field(description="The address the product vouches the person controls; it must be the "
                                         "invited one (else 403 `email_mismatch`).")
    first_name: Name | None = None
    last_name: Name | None = None


class AcceptIn(Input):
    token: Token
    password: Password | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    user: OnBehalfIn | None = Field(default=None, description="With a server key only: accept on behalf of the "
                                    "product's signed-in person (then no password or names at the top level).")


class DeclineIn(Input):
    token: Token


class RenewalIn(Input):
    token: Token


# --- outputs ------------------------------------------------------------------------------

class UserOut(Output):
    id: str
    external_id: str | None = Field(description="The person's id in the product that signs them in (DESIGN 12), "
                                                "or null.")
    email: str
    first_name: str
    last_name: str
    is_system_owner: bool
    email_verified: bool  # the person showed control of the mailbox (DESIGN 10)
    created_at: Utc


class TeamRoleOut(Output):
    team_id: str
    team_name: str
    role: str
    permissions: list[str]


class PersonOut(UserOut):
    """A person as a server key looks them up by externalId: the account and every team they are in."""

    memberships: list[TeamRoleOut]


class TeamOut(Output):
    id: str
    name: str
    seat_limit: int | None
    created_at: Utc


class MembershipOut(Output):
    team: TeamOut
    role: str
    is_owner: bool


class MeOut(Output):
    user: UserOut
    memberships: list[MembershipOut]
    active_team_id: str | None
    csrf_token: str


class SignedInOut(Output):
    user: UserOut
    csrf_token: str


class MemberOut(Output):
    user_id: str
    external_id: str | None
    email: str
    first_name: str
    last_name: str
    email_verified: bool
    role: str
    is_owner: bool
    joined_at: Utc


class TaskOut(Output):
    id: str
    title: str
    description: str
    assignee_ids: list[str]
    created_at: Utc


class ApiKeyOut(Output):
    id: str
    name: str
    role: str
    prefix: str
    created_by: str | None
    created_at: Utc
    last_used_at: Utc | None
    revoked_at: Utc | None


class ApiKeyCreated(ApiKeyOut):
    key: str


class Ref(Output):
    type: str
    id: str | None
    name: str | None = None


class ActorRef(Ref):
    server_key_id: str | None = Field(default=None, description="The server key the actor acted through (a "
                                      "product acting for the person), if any.")


class AuditEventOut(Output):
    id: str
    action: str
    actor: ActorRef
    target: Ref | None
    ip: str | None
    user_agent: str | None
    data: dict[str, Any]
    created_at: Utc


class DeliveryOut(Output):
    status: str
    attempts: int
    last_error: str | None = Field(description="Why the last attempt failed, in a sentence fit to show an admin.")
    last_error_code: str | None = Field(description="The same as a stable code: recipient_refused, smtp_refused, "
                                        "smtp_auth_failed, smtp_unreachable, timeout, tls_failed, unreadable, unknown.")
    sent_at: Utc | None


class InvitationOut(Output):
    id: str
    team_id: str
    email: str
    role: str
    status: str
    task_ids: list[str]
    expires_at: Utc
    created_at: Utc
    invited_by: Ref
    accepted_by: str | None
    accepted_at: Utc | None
    declined_at: Utc | None
    revoked_at: Utc | None
    send_count: int
    last_sent_at: Utc | None
    redirect_url: str | None = None  # where the person continues after accepting on /invite
    delivery: DeliveryOut


class InvitationIssued(InvitationOut):
    token: str
    accept_url: str


class TaskBrief(Output):
    id: str
    title: str
    description: str


class TeamBrief(Output):
    id: str
    name: str


class InvitationPreview(Output):
    id: str
    email: str
    role: str
    status: str
    expires_at: Utc
    team: TeamBrief
    invited_by: Ref
    tasks: list[TaskBrief]
    # true: sign in to accept; false: accepting creates the account. Told only to the invitee
    # (the emailed link, or a session with the invited address): null for the creator's link token.
    account_exists: bool | None


class AcceptOut(Output):
    user: UserOut
    team: TeamOut
    role: str
    invitation: InvitationOut
    account_created: bool
    csrf_token: str


class AcceptedOnBehalfOut(Output):
    """A server key's accept on a person's behalf: no session, so no CSRF token (DESIGN 12)."""

    user: UserOut
    team: TeamOut
    role: str
    invitation: InvitationOut
    account_created: bool


class DeclineOut(Output):
    id: str
    status: str
    declined_at: Utc | None


class RenewalOut(Output):
    detail: str
    told: str = Field(description="The name of whoever was asked to send a new link.")


class HealthOut(Output):
    status: str
    checks: dict[str, str] = {}
